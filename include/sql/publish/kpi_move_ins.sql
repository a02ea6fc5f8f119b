-- KPI sanity check: the dump day's move-ins in the gold candidate (compared with
-- KPI_MAX_DAILY_MOVE_INS).
SELECT move_ins
FROM `${gold_candidate}`.`daily_activity_summary`
WHERE activity_date = %(day)s
