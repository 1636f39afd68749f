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
python="${PYTHON:-python3}"

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
  local version="$1" dir="$venvs_dir/$1"
  local stamp="$dir/.requirements" wanted
  wanted="$(requirements "$version")"
  if [[ -x "$dir/bin/mlflow" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]] &&
    "$dir/bin/python" -c 'import sys' 2>/dev/null; then
    echo "mlflow $version: cached in $dir"
    return 0
  fi
  echo "mlflow $version: creating $dir"
  rm -rf "$dir"
  "$python" -m venv "$dir"
  "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip
  mapfile -t reqs <<<"$wanted"
  "$dir/bin/pip" install --quiet --disable-pip-version-check "${reqs[@]}"
  "$dir/bin/mlflow" --version
  printf '%s' "$wanted" >"$stamp"
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
