-- Occupancy KPIs for every date in [as_of - lookback, as_of + forward], anchored at
-- as_of = MAX(snapshot_date), never the wall clock: snapshots can lag (DESIGN section 2).
--   past and as_of:  counted in that day's own snapshot (no snapshot that day: no row)
--   after as_of:     projected from the single latest snapshot (contracted, not yet moved in)
-- Parameters: %(lookback)s, %(forward)s. Idempotent: ON DUPLICATE KEY UPDATE. The SELECT sits in
-- a derived table because "... JOIN ... ON cond ON DUPLICATE KEY" is ambiguous to the parser.
INSERT INTO `${gold}`.`occupancy_daily_metrics`
  (metric_date, as_of_snapshot_date, is_projection, move_ins, move_outs, occupied_rooms, total_rooms, occupancy_rate)
SELECT * FROM (
WITH RECURSIVE
anchor AS (
  SELECT MAX(snapshot_date) AS as_of FROM `${silver}`.`tenant_room_snapshot_daily`
),
spine AS (
  SELECT DATE_SUB(as_of, INTERVAL %(lookback)s DAY) AS metric_date, as_of FROM anchor WHERE as_of IS NOT NULL
  UNION ALL
  SELECT DATE_ADD(metric_date, INTERVAL 1 DAY), as_of FROM spine
  WHERE metric_date < DATE_ADD(as_of, INTERVAL %(forward)s DAY)
),
rooms AS (
  SELECT COUNT(*) AS total_rooms FROM `${staging}`.`rooms`
),
historical AS (
  SELECT s.snapshot_date AS metric_date,
         SUM(s.status IN (4, 5, 6, 7, 9) AND s.move_in_date = s.snapshot_date) AS move_ins,
         SUM(s.status IN (7, 9) AND s.effective_moveout_date = s.snapshot_date) AS move_outs,
         COUNT(DISTINCT CASE WHEN s.status IN (6, 7) THEN s.room_id END) AS occupied_rooms
  FROM `${silver}`.`tenant_room_snapshot_daily` s
  JOIN anchor a ON s.snapshot_date BETWEEN DATE_SUB(a.as_of, INTERVAL %(lookback)s DAY) AND a.as_of
  GROUP BY s.snapshot_date
),
latest AS (
  SELECT s.* FROM `${silver}`.`tenant_room_snapshot_daily` s JOIN anchor a ON s.snapshot_date = a.as_of
),
projected AS (
  SELECT d.metric_date,
         (SELECT COUNT(*) FROM latest l WHERE l.status IN (4, 5) AND l.move_in_date = d.metric_date) AS move_ins,
         (SELECT COUNT(*) FROM latest l WHERE l.status IN (6, 7) AND l.effective_moveout_date = d.metric_date) AS move_outs,
         (SELECT COUNT(DISTINCT l.room_id) FROM latest l
           WHERE l.status IN (4, 5, 6, 7) AND l.move_in_date <= d.metric_date
             AND (l.effective_moveout_date IS NULL OR l.effective_moveout_date > d.metric_date)) AS occupied_rooms
  FROM spine d WHERE d.metric_date > d.as_of
)
SELECT d.metric_date, d.as_of AS as_of_snapshot_date, d.metric_date > d.as_of AS is_projection,
       COALESCE(h.move_ins, p.move_ins, 0) AS move_ins, COALESCE(h.move_outs, p.move_outs, 0) AS move_outs,
       COALESCE(h.occupied_rooms, p.occupied_rooms, 0) AS occupied_rooms, r.total_rooms,
       CASE WHEN r.total_rooms > 0
            THEN ROUND(COALESCE(h.occupied_rooms, p.occupied_rooms, 0) / r.total_rooms, 4) END AS occupancy_rate
FROM spine d
CROSS JOIN rooms r
LEFT JOIN historical h ON h.metric_date = d.metric_date
LEFT JOIN projected p ON p.metric_date = d.metric_date
-- A past day without a snapshot (missing or quarantined dump) gets no row: never invented zeros.
WHERE h.metric_date IS NOT NULL OR d.metric_date > d.as_of
) AS computed
ON DUPLICATE KEY UPDATE
  as_of_snapshot_date = VALUES(as_of_snapshot_date),
  is_projection = VALUES(is_projection),
  move_ins = VALUES(move_ins),
  move_outs = VALUES(move_outs),
  occupied_rooms = VALUES(occupied_rooms),
  total_rooms = VALUES(total_rooms),
  occupancy_rate = VALUES(occupancy_rate);
