#!/usr/bin/env bash
# Run the minio Molecule scenario when a MinIO server binary is at hand, and skip it otherwise
# (exit 77, the skip status scripts/run-tests.sh reports).
#
# MinIO publishes no community binaries any more and none exists on the package registries these
# machines reach, so the scenario needs one from the user (roles/minio/README.md says how to get one).
#
# Environment:
#   MINIO_BINARY  path of a MinIO server binary on the controller
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [[ -z "${MINIO_BINARY:-}" || ! -f "${MINIO_BINARY}" ]]; then
  echo "molecule scenario minio SKIPPED: no MinIO server binary on this machine (set MINIO_BINARY=/path/to/minio; see roles/minio/README.md)"
  exit 77
fi
MINIO_BINARY="$(realpath "$MINIO_BINARY")"
export MINIO_BINARY
exec molecule test -s minio
