# shellcheck shell=bash
# Sourced by the scripts that build the test venvs under .cache/.

# cached_venv DIR CHECK REQUIREMENT...
# A venv in DIR holding the REQUIREMENTs, rebuilt only when their list or the interpreter's version
# changed, so a second run takes well under a second. CHECK is Python run in the new venv (imports),
# so a broken install fails here rather than in a test. Concurrent builders of one DIR take turns;
# the stamp is written last, so an interrupted build is redone. Progress goes to stderr.
# PYTHON: the interpreter that creates the venv (default python3).
cached_venv() {
  local dir="$1" check="$2"
  shift 2
  local python="${PYTHON:-python3}" stamp="$dir/.requirements" wanted lock
  wanted="$(printf '%s\n' "$@"; "$python" -c 'import sys; print(sys.version.split()[0])')"
  _venv_current() { [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; }
  if _venv_current; then
    echo "venv $dir: cached" >&2
    return 0
  fi
  mkdir -p "$(dirname "$dir")"
  exec {lock}>"$dir.lock"
  flock "$lock"
  if ! _venv_current; then
    echo "venv $dir: creating" >&2
    rm -rf "$dir"
    "$python" -m venv "$dir"
    "$dir/bin/pip" install --quiet --disable-pip-version-check --upgrade pip >&2
    "$dir/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
    "$dir/bin/python" -c "$check" >&2
    printf '%s' "$wanted" >"$stamp"
  fi
  exec {lock}>&-
}
