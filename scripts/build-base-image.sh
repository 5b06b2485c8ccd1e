#!/usr/bin/env bash
# Builds a minimal local base image holding this machine's `node` and the libraries it links,
# for machines with no image registry (`docker import` of a rootfs). Prints the image name.
# Users with a registry use the Dockerfile's default BASE_IMAGE (node:24-bookworm-slim) instead.
set -euo pipefail
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_VERSION="$("$NODE_BIN" --version)"
IMAGE="${GEMINI_BASE_IMAGE_NAME:-gemini-webhooks/node-base:${NODE_VERSION#v}}"

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE"
  exit 0
fi

rootfs="$(mktemp -d)"
trap 'rm -rf "$rootfs"' EXIT
mkdir -p "$rootfs/usr/local/bin" "$rootfs/tmp" "$rootfs/etc/ssl/certs" "$rootfs/app"
chmod 1777 "$rootfs/tmp"
cp "$NODE_BIN" "$rootfs/usr/local/bin/node"
# The dynamic loader and every library node links against, at their own paths.
for lib in $(ldd "$NODE_BIN" | grep -oE '/[^ ]+\.so[^ ]*'); do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done
[ -f /etc/ssl/certs/ca-certificates.crt ] && cp /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/"
printf 'root:x:0:0:root:/root:/bin/false\nnode:x:10001:10001:node:/app:/bin/false\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnode:x:10001:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
  --change "LABEL org.opencontainers.image.description=\"node $NODE_VERSION from the build machine\"" \
  - "$IMAGE" >/dev/null
echo "$IMAGE"
