-- KPI sanity check: apartments of the gold candidate whose occupancy rate on the dump day
-- lies outside [0, 1] (a room counted twice, a room in the wrong apartment).
SELECT apartment_id, occupancy_rate
FROM `${gold_candidate}`.`occupancy_by_apartment`
WHERE snapshot_date = %(day)s
  AND (occupancy_rate IS NULL OR occupancy_rate < 0 OR occupancy_rate > 1)
ORDER BY apartment_id
LIMIT 5
