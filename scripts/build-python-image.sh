#!/usr/bin/env bash
# Builds a minimal local Python image from this machine's python3 and its standard library (no
# site-packages, no test suite), for machines with no image registry: the containers the tests run
# Python receivers in (packages are mounted, e.g. a virtualenv's site-packages on PYTHONPATH).
# The interpreter is /usr/local/bin/python3; prints the image's name.
set -euo pipefail
PY="$(python3 -c 'import os, sys; print(os.path.realpath(sys.executable))')"
VERSION="$("$PY" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
IMAGE="gemini-webhooks/python-local:${VERSION}"
if docker image inspect "$IMAGE" >/dev/null 2>&1; then echo "$IMAGE"; exit 0; fi
STDLIB="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["stdlib"])')"
extra="$(mktemp -d)"
trap 'rm -rf "$extra"' EXIT
# Found by the interpreter from its own place: /usr/local/bin/python3 → /usr/local/lib/python3.X.
target="$extra/usr/local/lib/$(basename "$STDLIB")"
mkdir -p "$target"
tar -C "$STDLIB" --exclude=./site-packages --exclude=./test --exclude=./idlelib --exclude=./tkinter --exclude=./ensurepip -c . | tar -C "$target" -x
mkdir -p "$extra/usr/local/bin"
cp "$PY" "$extra/usr/local/bin/python3"
# The libraries the standard library's extension modules link (zlib, ssl, ffi, ...).
for module in "$target"/lib-dynload/*.so; do
  for lib in $(ldd "$module" | grep -oE '/[^ ]+\.so[^ ]*'); do
    [ -e "$extra$lib" ] && continue
    mkdir -p "$extra$(dirname "$lib")"
    cp -L "$lib" "$extra$lib"
  done
done
IMAGE_EXTRA_ROOT="$extra" exec bash "$(dirname "$0")/import-image.sh" "$IMAGE" "python $VERSION from the build machine" "$PY"
