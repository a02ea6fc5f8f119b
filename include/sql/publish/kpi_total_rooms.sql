-- KPI sanity check: the gold candidate's rooms on the dump day against the live gold's latest
-- earlier day (what readers see now). No earlier day: previous is NULL and the check passes.
SELECT
  (SELECT SUM(total_rooms) FROM `${gold_candidate}`.`occupancy_by_apartment` WHERE snapshot_date = %(day)s),
  prev.snapshot_date,
  (SELECT SUM(total_rooms) FROM `${gold}`.`occupancy_by_apartment` WHERE snapshot_date = prev.snapshot_date)
FROM (
  SELECT MAX(snapshot_date) AS snapshot_date
  FROM `${gold}`.`occupancy_by_apartment`
  WHERE snapshot_date < %(day)s
) AS prev
