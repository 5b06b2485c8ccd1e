#!/usr/bin/env bash
# Starts a Docker engine where none runs (CI and these sandboxes have no systemd):
# installs Debian's docker.io when missing, then starts dockerd in the background.
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  echo "[start-docker] installing docker.io from Debian" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq docker.io >/dev/null
fi
# A dockerd killed earlier (e.g. when a session ended) leaves its pid files behind, and they block a
# restart. A pid file whose process is gone (or a zombie) is stale.
for pidfile in /var/run/docker.pid /var/run/docker/containerd/containerd.pid /run/containerd/containerd.pid; do
  [ -f "$pidfile" ] || continue
  pid="$(cat "$pidfile" 2>/dev/null || true)"
  state="$( [ -n "$pid" ] && ps -o stat= -p "$pid" 2>/dev/null || true)"
  if [ -z "$state" ] || [[ "$state" == Z* ]]; then rm -f "$pidfile"; fi
done
echo "[start-docker] starting dockerd" >&2
nohup dockerd >/tmp/dockerd.log 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then echo "[start-docker] ready" >&2; exit 0; fi
  sleep 1
done
echo "[start-docker] dockerd did not start; see /tmp/dockerd.log" >&2
tail -20 /tmp/dockerd.log >&2 || true
exit 1
