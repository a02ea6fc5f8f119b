-- `tokyobeta reconcile`: the tenant-rooms behind our move-in and move-out counts of the month
-- [%(first_day)s, %(last_day)s], as they stood at snapshot %(as_of)s: the rule of
-- `tokyobeta kpi --month` (README "The KPIs"), one row per counted event instead of a count:
--   up to as_of   the day's own snapshot (silver.tenant_room_events_daily)
--   after as_of   projected from the as_of snapshot, row by row what kpi/projected_moves.sql
--                 counts (reconcile.py checks the totals against it, so the two cannot drift)
-- Run with as_of = our latest snapshot (ours) and with the snapshot nearest the report's time
-- (snapshot lag). `confirmed` says whether the row's status already shows the event (seed
-- flags: a move-in by a resident or moved-out status, a move-out by a moved-out one), for the
-- status-semantics cause.
SELECT e.event_type AS metric, e.tenant_id, e.room_id, e.snapshot_date AS day, 'actual' AS kind,
       CASE WHEN e.event_type = 'move_in' THEN st.is_contracted = 1 AND st.is_upcoming = 0
            ELSE st.is_contracted = 1 AND st.is_upcoming = 0 AND st.is_resident = 0 END AS confirmed
FROM `${silver}`.`tenant_room_events_daily` e
JOIN `${silver}`.`tenant_status` st ON st.status_code = e.status
WHERE e.snapshot_date BETWEEN %(first_day)s AND LEAST(%(last_day)s, %(as_of)s)
  AND e.event_type IN ('move_in', 'move_out')
UNION ALL
SELECT 'move_in', s.tenant_id, s.room_id, s.move_in_date, 'projection', 1
FROM `${silver}`.`tenant_room_snapshot_daily` s
JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
WHERE s.snapshot_date = %(as_of)s AND st.is_upcoming = 1 AND NOT s.is_renewal
  AND s.move_in_date > %(as_of)s AND s.move_in_date BETWEEN %(first_day)s AND %(last_day)s
UNION ALL
SELECT 'move_out', s.tenant_id, s.room_id, s.occupancy_end, 'projection', 1
FROM `${silver}`.`tenant_room_snapshot_daily` s
WHERE s.snapshot_date = %(as_of)s AND s.occupancy_start < s.occupancy_end
  AND s.occupancy_end > %(as_of)s AND s.occupancy_end BETWEEN %(first_day)s AND %(last_day)s
