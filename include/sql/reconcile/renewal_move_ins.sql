-- `tokyobeta reconcile`, cause "renewals": the re-contracts a report counts as move-ins when it
-- counts contracts rather than people. Our move-in rule with is_renewal let in: in the day's
-- own snapshot up to %(as_of)s, in the as_of snapshot after it.
SELECT s.tenant_id, s.room_id, s.move_in_date AS day
FROM `${silver}`.`tenant_room_snapshot_daily` s
JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
WHERE st.is_contracted = 1 AND s.is_renewal
  AND s.move_in_date BETWEEN %(first_day)s AND %(last_day)s
  AND s.snapshot_date BETWEEN LEAST(%(first_day)s, %(as_of)s) AND %(as_of)s   -- a range on the primary key
  AND ((s.snapshot_date = s.move_in_date AND s.snapshot_date <= %(as_of)s)
       OR (s.snapshot_date = %(as_of)s AND s.move_in_date > %(as_of)s))
