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
  tokyobeta publish-dump --date "$day"
  scripts/run-day.sh "$day"
done

echo
echo "================ what landed ================"
tokyobeta summary
echo
tokyobeta alerts --verbose
echo
log "demo finished in $((SECONDS - started)) s"
