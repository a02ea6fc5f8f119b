-- `tokyobeta reconcile`, cause "moveout_plans_date": tenant-rooms whose actual moveout_date and
-- planned moveout_plans_date differ, with either in the month [%(first_day)s, %(last_day)s].
-- We count a move-out on moveout_date (else the plan); a report that counts by the plan moves
-- these to another day, or into or out of the month. Read from each tenant-room's latest
-- contracted snapshot up to %(as_of)s: a moved-out stay leaves the snapshot once its date has
-- passed, so the day's own snapshot may no longer hold it. Snapshots from 92 days before the
-- month only (a range on the primary key, not a year of history): a stay that ended more than a
-- quarter before a plan in the month is not looked for.
WITH latest AS (
  SELECT s.tenant_id, s.room_id, s.moveout_date, s.moveout_plans_date,
         ROW_NUMBER() OVER (PARTITION BY s.tenant_id, s.room_id ORDER BY s.snapshot_date DESC) AS pick
  FROM `${silver}`.`tenant_room_snapshot_daily` s
  JOIN `${silver}`.`tenant_status` st ON st.status_code = s.status
  WHERE s.snapshot_date BETWEEN DATE_SUB(%(first_day)s, INTERVAL 92 DAY) AND %(as_of)s AND st.is_contracted = 1
    AND (s.moveout_date BETWEEN %(first_day)s AND %(last_day)s
         OR s.moveout_plans_date BETWEEN %(first_day)s AND %(last_day)s)
)
SELECT tenant_id, room_id, moveout_plans_date AS day
FROM latest
WHERE pick = 1 AND moveout_date IS NOT NULL AND moveout_plans_date IS NOT NULL
  AND moveout_date <> moveout_plans_date
