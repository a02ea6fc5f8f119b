#!/usr/bin/env bash
# Runs tokyobeta_daily_etl for one dump day on whatever dump and manifest are in the local
# bucket. Usage: scripts/run-day.sh YYYY-MM-DD
set -euo pipefail
source "$(dirname "$0")/env.sh"
day="${1:?usage: run-day.sh YYYY-MM-DD}"
# dag.test() waits out every retry delay; a local run should fail fast and say why.
export TASK_RETRIES="${TASK_RETRIES:-0}"
mkdir -p "$TOKYOBETA_LOCAL/logs"
logfile="$TOKYOBETA_LOCAL/logs/run-$day.log"
log "running tokyobeta_daily_etl for $day (task logs: $logfile)"
if ! tokyobeta run-day --date "$day" >"$logfile" 2>&1; then
  tail -n 40 "$logfile" >&2
  die "the run for $day did not succeed; full log: $logfile"
fi
sed -n '/^tokyobeta_daily_etl for /,$p' "$logfile"
