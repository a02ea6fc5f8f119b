-- How many tenants moved from one status to another between two consecutive snapshots.
-- Tenant grain (tenants.status, kept in the snapshot as tenant_status), counted on the later
-- snapshot's day. Only tenants present in both snapshots make a transition: a tenant entering
-- the snapshot is a registration or a new contract, one leaving it has an ended stay.
-- After a gap in snapshots the transitions of the whole gap land on the next snapshot day
-- (previous_snapshot_date says how far back it compares).
{{ config(
    materialized='daily_partition',
    day_column='transition_date',
    primary_key=['transition_date', 'from_status', 'to_status'],
) }}

with days as (
    select
        d.snapshot_date,
        (select max(p.snapshot_date)
         from {{ ref('tenant_room_snapshot_daily') }} as p
         where p.snapshot_date < d.snapshot_date) as previous_snapshot_date
    from (
        select distinct snapshot_date
        from {{ ref('tenant_room_snapshot_daily') }}
        where {{ dump_day_filter('snapshot_date') }}
    ) as d
),

tenants_today as (
    select distinct d.snapshot_date, d.previous_snapshot_date, s.tenant_id, s.tenant_status
    from days as d
    inner join {{ ref('tenant_room_snapshot_daily') }} as s on s.snapshot_date = d.snapshot_date
),

tenants_before as (
    select distinct s.snapshot_date, s.tenant_id, s.tenant_status
    from days as d
    inner join {{ ref('tenant_room_snapshot_daily') }} as s on s.snapshot_date = d.previous_snapshot_date
)

select
    t.snapshot_date as transition_date,
    t.previous_snapshot_date,
    b.tenant_status as from_status,
    t.tenant_status as to_status,
    from_label.label_en as from_label_en,
    to_label.label_en as to_label_en,
    from_label.label_ja as from_label_ja,
    to_label.label_ja as to_label_ja,
    count(*) as tenants
from tenants_today as t
inner join tenants_before as b
    on b.snapshot_date = t.previous_snapshot_date and b.tenant_id = t.tenant_id
left join {{ ref('tenant_status') }} as from_label on from_label.status_code = b.tenant_status
left join {{ ref('tenant_status') }} as to_label on to_label.status_code = t.tenant_status
where b.tenant_status <> t.tenant_status
group by
    t.snapshot_date, t.previous_snapshot_date, b.tenant_status, t.tenant_status,
    from_label.label_en, to_label.label_en, from_label.label_ja, to_label.label_ja
