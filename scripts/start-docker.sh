#!/usr/bin/env bash
# Make sure a Docker engine answers. Where none runs and there is no systemd to start one (bare CI
# machines, containers), start dockerd in the background and wait for it.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
command -v dockerd >/dev/null || { echo "dockerd is not installed (apt-get install docker.io)" >&2; exit 1; }
if [ -d /run/systemd/system ] && systemctl start docker 2>/dev/null; then
  :
else
  log=${DOCKERD_LOG:-/var/log/dockerd.log}
  echo "starting dockerd in the background (log: $log)" >&2
  nohup dockerd >"$log" 2>&1 &
fi
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && exit 0
  sleep 1
done
echo "dockerd did not answer within 60 s" >&2
exit 1
