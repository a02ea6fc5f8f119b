-- `tokyobeta reconcile`, cause "cancellations": the move-ins a report counts when it keeps
-- contracts that were later cancelled. Our rule with status 8 (cancelled) let in: a cancelled,
-- non-renewal tenant-room whose move_in_date is the day, in the day's own snapshot up to
-- %(as_of)s (a cancelled tenant-room stays in the snapshot until its move-in date has passed),
-- in the as_of snapshot after it.
SELECT s.tenant_id, s.room_id, s.move_in_date AS day
FROM `${silver}`.`tenant_room_snapshot_daily` s
JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
WHERE st.is_registered = 1 AND st.is_contracted = 0 AND NOT s.is_renewal
  AND s.move_in_date BETWEEN %(first_day)s AND %(last_day)s
  AND s.snapshot_date BETWEEN LEAST(%(first_day)s, %(as_of)s) AND %(as_of)s   -- a range on the primary key
  AND ((s.snapshot_date = s.move_in_date AND s.snapshot_date <= %(as_of)s)
       OR (s.snapshot_date = %(as_of)s AND s.move_in_date > %(as_of)s))
