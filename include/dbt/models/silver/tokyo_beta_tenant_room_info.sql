-- The current tenant <-> room assignment as of the staging load: one row per (tenant, room).
--
-- Deduplication: a tenant can have several movings on the same room (renewals, cancelled
-- duplicates typed in by mistake, a former tenant coming back). The row describes the live
-- moving first (cancel_flag = 0), then the latest move_in_date, updated_at and id.
--
-- status is the status OF THIS TENANT-ROOM, derived from the tenant's status (tenants.status
-- is per person, not per room; it is kept as tenant_status):
--   8 (cancelled)  when every moving of the tenant-room is cancelled (cancel_flag = 1)
--   9 (moved out)  when the tenant has since moved to another room (a transfer, or a former
--                  tenant who came back elsewhere) and this stay ended on or before the dump
--                  date; otherwise the room would inherit "6 in residence" from the new room
--   tenant_status  in every other case
-- is_renewal: the picked moving continues an earlier live moving of the same tenant-room
-- (that one ended at most a day before, or never ended): a re-contract, not a move-in.
-- occupancy_start / occupancy_end: the days this tenant-room holds its room according to this
-- load (occupied on day d when occupancy_start <= d and (occupancy_end is null or d < occupancy_end)):
--   resident (6, 7)  from move_in_date (the dump date if unknown) to effective_moveout_date
--   upcoming (4, 5)  from move_in_date, so a move-in whose status the staff have not updated
--                    yet holds the room from its move-in date, as it counts as a move-in
--   otherwise        never
-- (flags of the seed tenant_status, the one place status meanings live)
-- is_active: kept in the daily snapshot. Statuses 1-7 always; a cancelled (8) tenant-room until
-- its planned move-in date has passed, a moved-out (9) one until its move-out date has passed,
-- so the day of the event is in that day's snapshot and years of former tenants are not
-- copied into every day.
with dump as (
    select max(dump_date) as dump_date from {{ source('staging', 'dump_info') }}
),

ranked_movings as (
    select
        m.*,
        coalesce(m.moveout_date, m.moveout_plans_date) as stay_end,
        row_number() over (
            partition by m.tenant_id, m.room_id
            order by m.cancel_flag asc, m.move_in_date desc, m.updated_at desc, m.id desc
        ) as pick
    from {{ source('staging', 'movings') }} as m
),

live_sequence as (
    select
        id,
        lag(id) over (partition by tenant_id, room_id order by move_in_date, id) as previous_id,
        lag(stay_end) over (partition by tenant_id, room_id order by move_in_date, id) as previous_end
    from ranked_movings
    where cancel_flag = 0
),

picked as (
    select
        m.*,
        coalesce(
            s.previous_id is not null
            and (s.previous_end is null or s.previous_end >= date_sub(m.move_in_date, interval 1 day)),
            false
        ) as is_renewal,
        row_number() over (
            partition by m.tenant_id
            order by m.cancel_flag asc, m.move_in_date desc, m.id desc
        ) as assignment_rank
    from ranked_movings as m
    left join live_sequence as s on s.id = m.id
    where m.pick = 1
),

assigned as (
    select
        p.*,
        t.status as tenant_status,
        t.created_at as tenant_created_at,
        t.nationality,
        d.dump_date,
        case
            when p.cancel_flag = 1 then 8
            when p.assignment_rank > 1 and p.stay_end <= d.dump_date then 9
            else t.status
        end as status
    from picked as p
    inner join {{ source('staging', 'tenants') }} as t on t.id = p.tenant_id
    cross join dump as d
)

select
    a.tenant_id,
    a.room_id,
    a.apartment_id,
    a.id as moving_id,
    a.dump_date,
    a.status,
    status_label.label_en as status_en,
    status_label.label_ja as status_ja,
    a.tenant_status,
    a.is_renewal,
    coalesce(a.moving_agreement_type, legacy.agreement_type_code) as agreement_type_code,
    agreement.label_en as agreement_type_en,
    agreement.label_ja as agreement_type_ja,
    a.move_in_date,
    a.moveout_date,
    a.moveout_plans_date,
    a.stay_end as effective_moveout_date,
    case
        when status_label.is_resident = 1 then coalesce(a.move_in_date, a.dump_date)
        when status_label.is_upcoming = 1 then a.move_in_date
    end as occupancy_start,
    case when status_label.is_resident = 1 or status_label.is_upcoming = 1 then a.stay_end end as occupancy_end,
    coalesce(case
        when a.status = 8 then a.move_in_date is null or a.move_in_date >= a.dump_date
        when a.status = 9 then a.stay_end >= a.dump_date
        else true
    end, false) as is_active,
    a.cancel_flag,
    a.rent,
    a.tenant_created_at,
    coalesce(nat.country_code, 'UNKNOWN') as nationality_code,
    nat.label_en as nationality_en,
    nat.label_ja as nationality_ja,
    coalesce(place.prefecture, apt.prefecture) as prefecture,
    coalesce(place.municipality, apt.municipality) as municipality
from assigned as a
left join {{ source('staging', 'apartments') }} as apt on apt.id = a.apartment_id
left join {{ ref('tenant_status') }} as status_label on status_label.status_code = a.status
left join {{ ref('legacy_contract_type') }} as legacy on legacy.legacy_contract_type_code = a.contract_type
left join {{ ref('moving_agreement_type') }} as agreement
    on agreement.agreement_type_code = coalesce(a.moving_agreement_type, legacy.agreement_type_code)
left join {{ source('staging', 'nationality_map') }} as nat
    on nat.raw_value = a.nationality collate utf8mb4_bin
left join {{ source('staging', 'apartment_municipality_map') }} as place on place.apartment_id = a.apartment_id
