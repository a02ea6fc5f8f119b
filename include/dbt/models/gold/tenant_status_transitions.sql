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
    {{ snapshot_days(ref('tenant_room_snapshot_daily')) }}
),

transitions as (
    -- tenant_status is per person, so every tenant-room of a tenant carries the same one;
    -- COUNT(DISTINCT tenant_id) counts people, the join on the primary key prefix stays fast
    select
        s.snapshot_date as transition_date,
        d.previous_snapshot_date,
        p.tenant_status as from_status,
        s.tenant_status as to_status,
        count(distinct s.tenant_id) as tenants
    from days as d
    inner join {{ ref('tenant_room_snapshot_daily') }} as s on s.snapshot_date = d.snapshot_date
    inner join {{ ref('tenant_room_snapshot_daily') }} as p
        on p.snapshot_date = d.previous_snapshot_date and p.tenant_id = s.tenant_id
    where p.tenant_status <> s.tenant_status
    group by s.snapshot_date, d.previous_snapshot_date, p.tenant_status, s.tenant_status
)

select
    t.transition_date,
    t.previous_snapshot_date,
    t.from_status,
    t.to_status,
    from_label.label_en as from_label_en,
    to_label.label_en as to_label_en,
    from_label.label_ja as from_label_ja,
    to_label.label_ja as to_label_ja,
    t.tenants
from transitions as t
left join {{ ref('tenant_status') }} as from_label on from_label.status_code = t.from_status
left join {{ ref('tenant_status') }} as to_label on to_label.status_code = t.to_status
