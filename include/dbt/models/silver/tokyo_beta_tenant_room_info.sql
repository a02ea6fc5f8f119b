-- The current tenant <-> room assignment: one row per (tenant, room).
-- Dedup rule: a tenant can have several movings on the same room (re-contracts, cancelled
-- duplicates). Keep the live one first (cancel_flag = 0), then the latest move_in_date, then
-- the latest updated_at, then the highest id.
with ranked_movings as (
    select
        m.*,
        row_number() over (
            partition by m.tenant_id, m.room_id
            order by m.cancel_flag asc, m.move_in_date desc, m.updated_at desc, m.id desc
        ) as pick
    from {{ source('staging', 'movings') }} as m
),

movings as (
    select * from ranked_movings where pick = 1
)

select
    m.tenant_id,
    m.room_id,
    m.apartment_id,
    m.id as moving_id,
    t.status,
    coalesce(m.moving_agreement_type, legacy.agreement_type_code) as agreement_type_code,
    m.move_in_date,
    m.moveout_date,
    m.moveout_plans_date,
    coalesce(m.moveout_date, m.moveout_plans_date) as effective_moveout_date,
    m.cancel_flag,
    m.rent,
    t.created_at as tenant_created_at,
    coalesce(nat.country_code, 'UNKNOWN') as nationality_code,
    nat.label_en as nationality_en,
    nat.label_ja as nationality_ja,
    coalesce(place.prefecture, a.prefecture) as prefecture,
    coalesce(place.municipality, a.municipality) as municipality
from movings as m
inner join {{ source('staging', 'tenants') }} as t on t.id = m.tenant_id
left join {{ source('staging', 'apartments') }} as a on a.id = m.apartment_id
left join {{ ref('legacy_contract_type') }} as legacy on legacy.legacy_contract_type_code = m.contract_type
left join {{ source('staging', 'nationality_map') }} as nat
    on nat.raw_value = t.nationality collate utf8mb4_bin
left join {{ source('staging', 'apartment_municipality_map') }} as place on place.apartment_id = m.apartment_id
