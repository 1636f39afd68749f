#!/usr/bin/env bash
# Create the MLflow server venvs used by the module integration tests (tests/integration).
#
# One venv per MLflow version under $MLFLOW_VENVS_DIR/<version>. Idempotent and cached: a venv is
# rebuilt only when its requirement line changed, so a second run takes seconds.
#
# Environment:
#   MLFLOW_TEST_VERSIONS  space-separated versions (default: "3.17.2 2.22.5")
#   MLFLOW_VENVS_DIR      where the venvs live (default: <repo>/.cache/mlflow-venvs)
#   PYTHON                interpreter that creates the venvs (default: python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
versions="${MLFLOW_TEST_VERSIONS:-3.17.2 2.22.5}"
venvs_dir="${MLFLOW_VENVS_DIR:-$repo_root/.cache/mlflow-venvs}"
# shellcheck source=scripts/lib/cached-venv.sh
source "$repo_root/scripts/lib/cached-venv.sh"

# Requirements for one MLflow version: the auth app needs the [auth] extra (Flask-WTF);
# MLflow 2.x breaks with SQLAlchemy 2.1 (FallbackAsyncAdaptedQueuePool was removed).
requirements() {
  local version="$1"
  local reqs=("mlflow[auth]==$version")
  case "$version" in
    2.*) reqs+=("sqlalchemy<2.1") ;;
  esac
  printf '%s\n' "${reqs[@]}"
}

build_venv() {
  local version="$1" reqs
  mapfile -t reqs < <(requirements "$version")
  cached_venv "$venvs_dir/$version" "import mlflow, mlflow.server.auth" "${reqs[@]}"
}

mkdir -p "$venvs_dir"
pids=()
for version in $versions; do
  build_venv "$version" &
  pids+=("$!")
done
status=0
for pid in "${pids[@]}"; do
  wait "$pid" || status=1
done
exit "$status"
