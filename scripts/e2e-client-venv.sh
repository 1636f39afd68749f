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
python="${PYTHON:-python3}"

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

# The stamp keys the venv on the requirement list and the interpreter's version.
wanted="$(printf '%s\n' "${requirements[@]}"; "$python" -c 'import sys; print(sys.version.split()[0])')"
stamp="$venv/.requirements"

current() {
  [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]
}

if current; then
  echo "e2e client venv: cached in $venv" >&2
  echo "$venv/bin/python"
  exit 0
fi

mkdir -p "$(dirname "$venv")"
# Serialise concurrent builders (molecule verify and make demo may start together).
exec 9>"$venv.lock"
flock 9
if ! current; then
  echo "e2e client venv: creating $venv" >&2
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "${requirements[@]}" >&2
  # Fail here, not in the middle of a verify step, if an import is broken.
  "$venv/bin/python" -c 'import boto3, mlflow, mlflow.sklearn, requests, sklearn' >&2
  # Written last: an interrupted build has no stamp and is redone next time.
  printf '%s' "$wanted" >"$stamp"
fi
echo "$venv/bin/python"
