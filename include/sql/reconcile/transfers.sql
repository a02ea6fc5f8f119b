-- `tokyobeta reconcile`, cause "transfers": a tenant leaving one room and moving into another
-- of ours within a day (before or after). We count the new room as a move-in and the old one
-- as a move-out (its status is 9); a report that counts people, not rooms, counts neither.
-- Pairs of each tenant-room's latest contracted snapshot row up to %(as_of)s, either side in
-- the month [%(first_day)s, %(last_day)s], from snapshots of the 92 days before the month on
-- (a stay ending in the month is in those; a range on the primary key, not a year of history).
WITH latest AS (
  SELECT s.tenant_id, s.room_id, s.move_in_date, s.effective_moveout_date,
         ROW_NUMBER() OVER (PARTITION BY s.tenant_id, s.room_id ORDER BY s.snapshot_date DESC) AS pick
  FROM `${silver}`.`tenant_room_snapshot_daily` s
  JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
  WHERE s.snapshot_date BETWEEN DATE_SUB(%(first_day)s, INTERVAL 92 DAY) AND %(as_of)s AND st.is_contracted = 1
    AND (s.move_in_date BETWEEN DATE_SUB(%(first_day)s, INTERVAL 1 DAY) AND DATE_ADD(%(last_day)s, INTERVAL 1 DAY)
         OR s.effective_moveout_date BETWEEN DATE_SUB(%(first_day)s, INTERVAL 1 DAY) AND DATE_ADD(%(last_day)s, INTERVAL 1 DAY))
)
SELECT o.tenant_id, o.room_id AS old_room_id, n.room_id AS new_room_id
FROM latest o
JOIN latest n ON n.tenant_id = o.tenant_id AND n.room_id <> o.room_id AND n.pick = 1
WHERE o.pick = 1
  AND o.effective_moveout_date BETWEEN DATE_SUB(n.move_in_date, INTERVAL 1 DAY) AND DATE_ADD(n.move_in_date, INTERVAL 1 DAY)
