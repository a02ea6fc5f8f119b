-- Activity per snapshot day, each day counted in its own snapshot (DESIGN section 2).
-- A day without a snapshot (missing or quarantined dump) has no row: never invented zeros.
--   new_registrations  tenants whose created_at (JST) is the day, counted in that day's load;
--                      inquiries are never registered as tenants, so they are not counted
--   move_ins, move_outs, cancellations  silver.tenant_room_events_daily (rules there)
-- Incremental (daily_partition): a run replaces its dump day only.
{{ config(materialized='daily_partition', day_column='activity_date', primary_key=['activity_date']) }}

with days as (
    select snapshot_date as activity_date, previous_snapshot_date
    from ({{ snapshot_days(ref('tenant_room_snapshot_daily')) }}) as snapshot_days
),

events as (
    select
        snapshot_date,
        sum(event_type = 'move_in') as move_ins,
        sum(event_type = 'move_out') as move_outs,
        sum(event_type = 'cancellation') as cancellations
    from {{ ref('tenant_room_events_daily') }}
    where {{ dump_day_filter('snapshot_date') }}
    group by snapshot_date
),

registrations as (
    select d.activity_date, count(*) as new_registrations
    from days as d
    inner join {{ source('staging', 'tenants') }} as t
        on t.created_at >= d.activity_date and t.created_at < date_add(d.activity_date, interval 1 day)
    group by d.activity_date
)

select
    d.activity_date,
    d.previous_snapshot_date,
    cast(coalesce(r.new_registrations, 0) as signed) as new_registrations,
    cast(coalesce(e.move_ins, 0) as signed) as move_ins,
    cast(coalesce(e.move_outs, 0) as signed) as move_outs,
    cast(coalesce(e.cancellations, 0) as signed) as cancellations
from days as d
left join events as e on e.snapshot_date = d.activity_date
left join registrations as r on r.activity_date = d.activity_date
