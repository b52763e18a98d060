#!/usr/bin/env bash
# The flakiness check: the whole test command three times in a row on a clean clone of HEAD while another
# process keeps one core busy. Usage: bash scripts/test_loaded.sh [WORKDIR] [RUNS]   (default /tmp/loaded, 3)
# Prints one line per run (exit status, seconds, pytest's summary); logs in WORKDIR/run-N.log.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd); work=${1:-/tmp/loaded}; runs=${2:-3}
rm -rf "$work"; git clone -q "$here" "$work/lab"; cd "$work/lab"
python3 -c "while True: pass" & busy=$!; trap 'kill $busy 2>/dev/null' EXIT
failed=0
for i in $(seq "$runs"); do
  start=$(date +%s)
  CI=true bash scripts/test.sh > "$work/run-$i.log" 2>&1 < /dev/null; rc=$?
  (( rc )) && failed=1
  echo "run $i: exit $rc, $(( $(date +%s) - start )) s, $(tail -1 "$work/run-$i.log")"
done
exit $failed
