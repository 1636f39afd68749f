#!/usr/bin/env bash
# Run test steps, each timed, and end with a report table.
#
# A failed step does not stop the run: one run shows everything that is broken. A step that cannot
# run on this machine exits 77 and prints a line "SKIPPED: <reason>"; it is reported as skipped with
# that reason, never as passed. The exit status is 1 when any step failed.
#
# Usage: scripts/run-tests.sh STEP...    a layer of the Makefile (lint, sanity, units, integration)
#                                         or molecule/<scenario>
# Environment:
#   JOBS  Molecule scenarios run at the same time (default 1). Layers always run one at a time.
#         With JOBS > 1 a scenario's output goes to its log only, and the log of a failed one is
#         printed at the end.
# Each step's output is kept in tests/output/steps/<step>.log.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
logs=tests/output/steps
mkdir -p "$logs"
jobs=${JOBS:-1}

run_step() {
  case "$1" in
    molecule/minio) scripts/molecule-minio.sh ;;
    molecule/*) molecule test -s "${1#molecule/}" ;;
    *) make --no-print-directory "$1" ;;
  esac
}

log_of() { echo "$logs/${1//\//-}.log"; }

# record STEP RC SECONDS: one file per step, so steps that ran in the background report too.
record() {
  local result note=""
  case "$2" in
    0) result=passed ;;
    77) result=skipped; note=$(sed -n 's/.*SKIPPED: //p' "$(log_of "$1")" | tail -n 1) ;;
    *) result=failed; note="exit $2, see $(log_of "$1")" ;;
  esac
  printf '%s\t%s\t%s\n' "$3" "$result" "$note" >"$(log_of "$1").result"
}

foreground() {
  local start rc
  start=$(date +%s)
  echo "=== $1"
  run_step "$1" 2>&1 | tee "$(log_of "$1")"
  rc=${PIPESTATUS[0]}
  record "$1" "$rc" "$(( $(date +%s) - start ))"
}

background() {
  local start rc
  start=$(date +%s)
  echo "=== $1 started (log: $(log_of "$1"))"
  run_step "$1" >"$(log_of "$1")" 2>&1
  rc=$?
  record "$1" "$rc" "$(( $(date +%s) - start ))"
  echo "=== $1 finished: $(cut -f2 "$(log_of "$1").result")"
}

for step in "$@"; do rm -f "$(log_of "$step").result"; done
for step in "$@"; do
  if [[ "$step" == molecule/* && "$jobs" -gt 1 ]]; then
    while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
    background "$step" &
  else
    wait
    foreground "$step"
  fi
done
wait

passed=0 failed=0 skipped=0
echo
printf '%-26s %8s  %-8s %s\n' STEP SECONDS RESULT NOTE
for step in "$@"; do
  IFS=$'\t' read -r seconds result note <"$(log_of "$step").result"
  printf '%-26s %8s  %-8s %s\n' "$step" "$seconds" "$result" "$note"
  case "$result" in
    passed) passed=$((passed + 1)) ;;
    failed) failed=$((failed + 1)) ;;
    skipped) skipped=$((skipped + 1)) ;;
  esac
  if [[ "$result" == failed && "$jobs" -gt 1 && "$step" == molecule/* ]]; then
    echo "--- last lines of $(log_of "$step")"
    tail -n 80 "$(log_of "$step")"
  fi
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
