#!/usr/bin/env bash
# Builds a minimal local base image holding this machine's `node` and the libraries it links,
# for machines with no image registry. Prints the image name.
# Users with a registry use the Dockerfile's default BASE_IMAGE (node:24-bookworm-slim) instead.
set -euo pipefail
NODE_VERSION="$(node --version)"
exec bash "$(dirname "$0")/import-image.sh" "${GEMINI_BASE_IMAGE_NAME:-gemini-webhooks/node-base:${NODE_VERSION#v}}" "node $NODE_VERSION from the build machine" node
