-- Future move-ins and move-outs per day and contract type, projected from the single latest
-- snapshot (%(as_of)s = MAX(snapshot_date), never the wall clock: snapshots can lag) for the
-- days after it within [%(first_day)s, %(last_day)s] (DESIGN section 2):
--   move-in   a tenant-room in an upcoming status (seed flag is_upcoming: 4, 5) whose
--             move_in_date is the day; renewals are no move-ins
--   move-out  a tenant-room holding its room the day before (silver occupancy_start) whose
--             occupancy ends that day (effective_moveout_date: moveout_date, else
--             moveout_plans_date)
-- Shared by the KPI upsert (summed per day) and `tokyobeta kpi` (per contract type), so both
-- project with the same rule. A bare SELECT, no trailing semicolon: it is embedded.
SELECT metric_date, agreement_type_code, SUM(is_move_in) AS move_ins, SUM(is_move_out) AS move_outs
FROM (
  SELECT s.move_in_date AS metric_date, s.agreement_type_code, 1 AS is_move_in, 0 AS is_move_out
  FROM `${silver}`.`tenant_room_snapshot_daily` s
  JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
  WHERE s.snapshot_date = %(as_of)s AND st.is_upcoming = 1 AND NOT s.is_renewal
    AND s.move_in_date > %(as_of)s AND s.move_in_date BETWEEN %(first_day)s AND %(last_day)s
  UNION ALL
  SELECT s.occupancy_end, s.agreement_type_code, 0, 1
  FROM `${silver}`.`tenant_room_snapshot_daily` s
  WHERE s.snapshot_date = %(as_of)s AND s.occupancy_start < s.occupancy_end
    AND s.occupancy_end > %(as_of)s AND s.occupancy_end BETWEEN %(first_day)s AND %(last_day)s
) AS moves
GROUP BY metric_date, agreement_type_code
