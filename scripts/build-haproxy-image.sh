#!/usr/bin/env bash
# Builds a minimal local HAProxy image from this machine's haproxy (Debian's package), for machines
# with no image registry: the durable-receiver example's `lbImage` there. Prints its name.
set -euo pipefail
VERSION="$(haproxy -v | grep -oE 'version [0-9.]+' | cut -d' ' -f2)"
exec bash "$(dirname "$0")/import-image.sh" "gemini-webhooks/haproxy-local:${VERSION}" "haproxy $VERSION from the build machine" haproxy
