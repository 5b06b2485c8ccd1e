#!/usr/bin/env bash
# Builds a minimal local Redis image from this machine's redis-server (Debian's package), for
# machines with no image registry: the durable-receiver example's `redisImage` there. Prints its name.
set -euo pipefail
VERSION="$(redis-server --version | grep -oE 'v=[0-9.]+' | cut -d= -f2)"
exec bash "$(dirname "$0")/import-image.sh" "gemini-webhooks/redis-local:${VERSION}" "redis-server $VERSION from the build machine" redis-server
