#!/usr/bin/env bash
# The whole daily pipeline end to end on the local stack: builds the sample source, publishes
# dumps for two consecutive days, runs the daily DAG for both and prints what landed.
set -euo pipefail
source "$(dirname "$0")/env.sh"
DAY1="${DEMO_DAY1:-2026-11-24}"
DAY2="$(date -d "$DAY1 + 1 day" +%F)"
SCALE="${DEMO_SCALE:-1}"
started=$SECONDS

# A demo starts from an empty warehouse and inbox, so running it twice shows the same story.
tokyobeta reset-local-warehouse --yes
tokyobeta alerts >/dev/null
for day in "$DAY1" "$DAY2"; do
  log "building the sample source as of $day (scale $SCALE)"
  tokyobeta sample-source --date "$day" --scale "$SCALE"
  log "publishing the dump of $day"
  # --replace: the demo rebuilds the source each time, so a second demo republishes its days.
  tokyobeta publish-dump --date "$day" --replace
  scripts/run-day.sh "$day"
done

# Monitoring: the freshness check of DAY2's 09:00 JST slot, then the monthly alert drill, whose
# failure (on purpose) must arrive in the alert inbox below.
run_quietly() {  # DAG, expected state, run-dag arguments...
  local dag="$1" expect="$2" logfile="$TOKYOBETA_LOCAL/logs/$1.log"
  shift 2
  log "running $dag (task logs: $logfile)"
  if ! TASK_RETRIES=0 tokyobeta run-dag --dag "$dag" --expect "$expect" "$@" >"$logfile" 2>&1; then
    tail -n 40 "$logfile" >&2
    die "$dag did not end $expect; full log: $logfile"
  fi
  sed -n "/^$dag at /,\$p" "$logfile"
}
run_quietly tokyobeta_freshness success --date "$DAY2"
run_quietly tokyobeta_alert_drill failed

echo
echo "================ what landed ================"
tokyobeta summary
echo
tokyobeta metrics --since "$DAY1"
echo
tokyobeta alerts --verbose --wait 5
echo
# Where the last day's numbers came from: dump, verdict, load, publications, KPIs, archive.
echo "================ lineage of $DAY2 ================"
tokyobeta lineage --date "$DAY2"
echo
if [ "$DAY1" = 2026-11-24 ] && [ "$SCALE" = 1 ]; then
  # The operator's report of the demo month (made on DAY1's evening, before DAY2's dump) vs ours.
  echo "================ reconciliation against the operator's report ================"
  tokyobeta reconcile --month 2026-11 --external "$TOKYOBETA_ROOT/include/reconcile/demo_report.csv" \
    --as-of-report "$DAY1 18:00"
  echo
fi
log "demo finished in $((SECONDS - started)) s"
