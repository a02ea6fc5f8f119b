-- Activity per day, counted in that day's own snapshot (DESIGN section 2):
--   new_registrations  tenants whose created_at (JST) falls on the day; inquiries are never
--                      registered as tenants, so they cannot be counted here
--   move_ins           status 4,5,6,7,9 with move_in_date = the day
--   move_outs          status 7,9 with moveout_date (else moveout_plans_date) = the day
--   cancellations      tenant-rooms whose status became 8 since the previous snapshot
with snapshots as (
    select
        snapshot_date,
        status,
        move_in_date,
        effective_moveout_date,
        lag(status) over (partition by tenant_id, room_id order by snapshot_date) as previous_status
    from {{ ref('tenant_room_snapshot_daily') }}
),

registrations as (
    select cast(created_at as date) as activity_date, count(*) as new_registrations
    from {{ source('staging', 'tenants') }}
    group by cast(created_at as date)
)

select
    s.snapshot_date as activity_date,
    coalesce(max(r.new_registrations), 0) as new_registrations,
    sum(s.status in (4, 5, 6, 7, 9) and s.move_in_date = s.snapshot_date) as move_ins,
    sum(s.status in (7, 9) and s.effective_moveout_date = s.snapshot_date) as move_outs,
    sum(s.status = 8 and s.previous_status is not null and s.previous_status <> 8) as cancellations
from snapshots as s
left join registrations as r on r.activity_date = s.snapshot_date
group by s.snapshot_date
