-- Applies the window computed by occupancy_daily_metrics_window.sql. Run in ONE transaction:
-- readers see the previous window or the new one, and a failure leaves the previous rows.
-- Idempotent: INSERT ... ON DUPLICATE KEY UPDATE, then two deletes (README, "KPI rows"):
--   * a row inside the window that this run did not produce no longer qualifies (a past day
--     without a snapshot, e.g. left by an earlier run that projected it); it is removed rather
--     than kept or zeroed,
--   * a projection made from another as-of snapshot is stale wherever it lies (for instance
--     beyond a forward window that has since been shortened).
-- Rows before the window keep the values of the last run that covered them.
-- Every row names its snapshot (as_of_snapshot_date) and the gold publication it was computed
-- from (%(gold_publication_id)s, the live gold.publication marker; NULL without one).
INSERT INTO `${gold}`.`occupancy_daily_metrics`
  (metric_date, as_of_snapshot_date, is_projection, move_ins, move_outs, occupied_rooms, total_rooms, occupancy_rate,
   gold_publication_id)
SELECT metric_date, as_of_snapshot_date, is_projection, move_ins, move_outs, occupied_rooms, total_rooms,
       CASE WHEN total_rooms > 0 THEN ROUND(occupied_rooms / total_rooms, 4) END, %(gold_publication_id)s
FROM `${gold}`.`occupancy_daily_metrics__window`
ON DUPLICATE KEY UPDATE
  as_of_snapshot_date = VALUES(as_of_snapshot_date),
  is_projection = VALUES(is_projection),
  move_ins = VALUES(move_ins),
  move_outs = VALUES(move_outs),
  occupied_rooms = VALUES(occupied_rooms),
  total_rooms = VALUES(total_rooms),
  occupancy_rate = VALUES(occupancy_rate),
  gold_publication_id = VALUES(gold_publication_id);
DELETE FROM `${gold}`.`occupancy_daily_metrics`
WHERE metric_date BETWEEN %(first_day)s AND %(last_day)s
  AND metric_date NOT IN (SELECT metric_date FROM `${gold}`.`occupancy_daily_metrics__window`);
DELETE FROM `${gold}`.`occupancy_daily_metrics`
WHERE is_projection = 1 AND as_of_snapshot_date <> %(as_of)s;
