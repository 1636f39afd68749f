#!/usr/bin/env bash
# Create the controller venv that runs the end-to-end client checks (tests/e2e/mlflow_e2e.py).
#
# Idempotent and cached: the venv is rebuilt only when the requirement list (or the interpreter)
# changed, so a second run returns in well under a second. Progress goes to stderr; the last line
# on stdout is the venv's python, so callers can do: py="$(scripts/e2e-client-venv.sh)".
#
# Environment:
#   E2E_VENV  where the venv lives (default: <repo>/.cache/e2e-venv)
#   PYTHON    interpreter that creates the venv (default: python3)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${E2E_VENV:-$repo_root/.cache/e2e-venv}"

# Exact pins so reruns resolve the same top-level client. The full mlflow package (not
# mlflow-skinny) because the pyfunc/sklearn flavors need it; it already brings scikit-learn,
# matplotlib and pandas, pinned here too so they do not float. boto3 is not an mlflow
# dependency; it is listed for S3 clients that honour AWS_CA_BUNDLE. No extras.
requirements=(
  "mlflow==3.17.2"
  "scikit-learn==1.9.1"
  "matplotlib==3.11.2"
  "boto3==1.44.5"
  "requests==2.34.2"
)

# shellcheck source=scripts/lib/cached-venv.sh
source "$repo_root/scripts/lib/cached-venv.sh"
cached_venv "$venv" "import boto3, mlflow, mlflow.sklearn, requests, sklearn" "${requirements[@]}"
echo "$venv/bin/python"
