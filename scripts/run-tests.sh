#!/usr/bin/env bash
# Run test steps one after another, each timed, and end with a report table.
#
# A failed step does not stop the run: one run shows everything that is broken. A step that cannot
# run on this machine exits 77 and prints a line "SKIPPED: <reason>"; it is reported as skipped with
# that reason, never as passed. The exit status is 1 when any step failed.
#
# Usage: scripts/run-tests.sh STEP...    a layer of the Makefile (lint, sanity, units, integration)
#                                         or molecule/<scenario>
# Each step's output goes to the terminal and to tests/output/steps/<step>.log.
set -uo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2
logs=tests/output/steps
mkdir -p "$logs"

run_step() {
  case "$1" in
    molecule/minio) scripts/molecule-minio.sh ;;
    molecule/*) molecule test -s "${1#molecule/}" ;;
    *) make --no-print-directory "$1" ;;
  esac
}

names=() seconds=() results=() notes=()
for step in "$@"; do
  log="$logs/${step//\//-}.log"
  echo "=== $step"
  start=$(date +%s)
  run_step "$step" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  names+=("$step")
  seconds+=("$(( $(date +%s) - start ))")
  case "$rc" in
    0) results+=(passed); notes+=("") ;;
    77) results+=(skipped); notes+=("$(sed -n 's/.*SKIPPED: //p' "$log" | tail -n 1)") ;;
    *) results+=(failed); notes+=("exit $rc, see $log") ;;
  esac
done

passed=0 failed=0 skipped=0
echo
printf '%-26s %8s  %-8s %s\n' STEP SECONDS RESULT NOTE
for i in "${!names[@]}"; do
  printf '%-26s %8s  %-8s %s\n' "${names[$i]}" "${seconds[$i]}" "${results[$i]}" "${notes[$i]}"
  case "${results[$i]}" in
    passed) passed=$((passed + 1)) ;;
    failed) failed=$((failed + 1)) ;;
    skipped) skipped=$((skipped + 1)) ;;
  esac
done
echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" = 0 ]
