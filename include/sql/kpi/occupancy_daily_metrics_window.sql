-- The KPI rows of one window [%(first_day)s, %(last_day)s] around %(as_of)s = MAX(snapshot_date),
-- into a temporary table that upsert_occupancy_daily_metrics.sql then applies in one transaction.
--   as_of and before  actual: the day's own snapshot, read from gold (daily_activity_summary for
--                     move_ins / move_outs, occupancy_by_apartment summed for the rooms).
--                     A day without a snapshot gets no row: never invented zeros.
--   after as_of       projection from the single latest snapshot: projected_moves.sql (the rule
--                     `tokyobeta kpi` uses too) and the rooms occupied that day by the latest
--                     snapshot's tenant-rooms (silver occupancy_start <= day < occupancy_end),
--                     out of as_of's total rooms.
DROP TEMPORARY TABLE IF EXISTS `${gold}`.`occupancy_daily_metrics__window`;
CREATE TEMPORARY TABLE `${gold}`.`occupancy_daily_metrics__window` AS
WITH RECURSIVE future_days AS (
  SELECT DATE_ADD(CAST(%(as_of)s AS DATE), INTERVAL 1 DAY) AS metric_date FROM DUAL WHERE %(as_of)s < %(last_day)s
  UNION ALL
  SELECT DATE_ADD(metric_date, INTERVAL 1 DAY) FROM future_days WHERE metric_date < %(last_day)s
),
rooms_by_day AS (
  SELECT snapshot_date, SUM(occupied_rooms) AS occupied_rooms, SUM(total_rooms) AS total_rooms
  FROM `${gold}`.`occupancy_by_apartment`
  WHERE snapshot_date BETWEEN %(first_day)s AND %(as_of)s
  GROUP BY snapshot_date
),
actual AS (
  SELECT a.activity_date AS metric_date, a.move_ins, a.move_outs, r.occupied_rooms, r.total_rooms
  FROM `${gold}`.`daily_activity_summary` a
  JOIN rooms_by_day r ON r.snapshot_date = a.activity_date
  WHERE a.activity_date BETWEEN %(first_day)s AND %(as_of)s
),
latest_occupancy AS (
  SELECT room_id, occupancy_start, occupancy_end
  FROM `${silver}`.`tenant_room_snapshot_daily`
  WHERE snapshot_date = %(as_of)s AND occupancy_start IS NOT NULL
),
projected_rooms AS (
  SELECT d.metric_date, COUNT(DISTINCT l.room_id) AS occupied_rooms
  FROM future_days d
  LEFT JOIN latest_occupancy l
    ON l.occupancy_start <= d.metric_date AND (l.occupancy_end IS NULL OR l.occupancy_end > d.metric_date)
  GROUP BY d.metric_date
),
projected_moves AS (
  SELECT metric_date, SUM(move_ins) AS move_ins, SUM(move_outs) AS move_outs
  FROM (${projected_moves}) AS by_contract_type
  GROUP BY metric_date
),
as_of_rooms AS (
  SELECT total_rooms FROM actual WHERE metric_date = %(as_of)s
)
SELECT metric_date, CAST(%(as_of)s AS DATE) AS as_of_snapshot_date, 0 AS is_projection,
       move_ins, move_outs, occupied_rooms, total_rooms
FROM actual
UNION ALL
SELECT d.metric_date, CAST(%(as_of)s AS DATE), 1,
       COALESCE(m.move_ins, 0), COALESCE(m.move_outs, 0), p.occupied_rooms, r.total_rooms
FROM future_days d
JOIN projected_rooms p ON p.metric_date = d.metric_date
LEFT JOIN projected_moves m ON m.metric_date = d.metric_date
CROSS JOIN as_of_rooms r;
