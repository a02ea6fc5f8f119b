-- The events dashboards count, one row per tenant-room and event, recorded on the snapshot
-- (dump) day that shows them. Every day is read from its OWN snapshot (DESIGN section 2), so a
-- later dump never rewrites history with newer statuses.
--   move_in       contracted status (seed flag is_contracted: 4,5,6,7,9, never cancelled 8 or
--                 a prospect 1-3) with move_in_date = the day, renewals excluded (is_renewal:
--                 a re-contract on the same room is no move-in)
--   move_out      contracted status with effective_moveout_date (moveout_date, else
--                 moveout_plans_date) = the day; a transfer's old room counts (its status is 9)
--   cancellation  status 8 on the day and not 8 in the previous snapshot (or absent from it:
--                 registered and cancelled between two snapshots). Cancellations carry no
--                 date of their own, so a gap in snapshots lands them on the next snapshot
--                 day; the first snapshot ever has no previous one and records none.
{{ config(
    materialized='daily_partition',
    day_column='snapshot_date',
    primary_key=['snapshot_date', 'event_type', 'tenant_id', 'room_id'],
) }}

with days as (
    {{ snapshot_days(ref('tenant_room_snapshot_daily')) }}
),

today as (
    select s.*, d.previous_snapshot_date, st.is_contracted
    from {{ ref('tenant_room_snapshot_daily') }} as s
    inner join days as d on d.snapshot_date = s.snapshot_date
    left join {{ ref('tenant_status') }} as st on st.status_code = s.status
)

select
    snapshot_date, cast('move_in' as char(12)) as event_type, tenant_id, room_id, apartment_id,
    agreement_type_code, status, cast(null as signed) as previous_status, move_in_date, effective_moveout_date
from today
where is_contracted = 1 and not is_renewal and move_in_date = snapshot_date

union all

select
    snapshot_date, 'move_out', tenant_id, room_id, apartment_id,
    agreement_type_code, status, null, move_in_date, effective_moveout_date
from today
where is_contracted = 1 and effective_moveout_date = snapshot_date

union all

select
    t.snapshot_date, 'cancellation', t.tenant_id, t.room_id, t.apartment_id,
    t.agreement_type_code, t.status, p.status, t.move_in_date, t.effective_moveout_date
from today as t
left join {{ ref('tenant_room_snapshot_daily') }} as p
    on p.snapshot_date = t.previous_snapshot_date and p.tenant_id = t.tenant_id and p.room_id = t.room_id
where t.status = 8
  and t.previous_snapshot_date is not null
  and (p.status is null or p.status <> 8)
