#!/usr/bin/env bash
# Imports a minimal local image holding this machine's BINARY... (each at /usr/local/bin/<name>)
# and every library they link, for machines with no image registry (`docker import` of a rootfs).
# Usage: scripts/import-image.sh IMAGE DESCRIPTION BINARY... ; prints IMAGE. An existing IMAGE is kept.
# IMAGE_EXTRA_ROOT: a directory whose tree is merged into the image's root as it is.
set -euo pipefail
IMAGE="$1"; DESCRIPTION="$2"; shift 2

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc/ssl/certs" "$rootfs/app" "$rootfs/data"
chmod 1777 "$rootfs/tmp"
for bin in "$@"; do
  real="$(readlink -f "$(command -v "$bin")")"
  cp "$real" "$rootfs/usr/local/bin/$(basename "$bin")"
  # The dynamic loader and every library the binary links against, at their own paths.
  for lib in $(ldd "$real" | grep -oE '/[^ ]+\.so[^ ]*'); do
    mkdir -p "$rootfs$(dirname "$lib")"
    cp -L "$lib" "$rootfs$lib"
  done
done
[ -n "${IMAGE_EXTRA_ROOT:-}" ] && cp -a "$IMAGE_EXTRA_ROOT/." "$rootfs/"
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/false\nnode:x:10001:10001:node:/app:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:10001:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL org.opencontainers.image.description=\"$DESCRIPTION\"" \
  - "$IMAGE" >/dev/null
echo "$IMAGE"
