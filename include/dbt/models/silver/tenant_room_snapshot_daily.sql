-- One row per (tenant, room) per snapshot_date, where snapshot_date is the dump date the
-- staging load came from (never the wall clock). Incremental: re-running a day deletes that
-- day only (pre-hook, by the indexed snapshot_date) and appends it again.
{{ config(
    materialized='incremental',
    pre_hook=[
        "{% if is_incremental() %}delete from {{ this }} where snapshot_date = "
        ~ "(select max(dump_date) from {{ source('staging', 'dump_info') }}){% endif %}"
    ],
    post_hook=["{{ ensure_index(this, 'ix_snapshot_date', ['snapshot_date', 'tenant_id', 'room_id']) }}"]
) }}

select
    d.dump_date as snapshot_date,
    i.tenant_id,
    i.room_id,
    i.apartment_id,
    i.status,
    i.agreement_type_code,
    i.move_in_date,
    i.moveout_date,
    i.moveout_plans_date,
    i.effective_moveout_date,
    i.cancel_flag,
    i.rent,
    i.nationality_code,
    i.municipality
from {{ ref('tokyo_beta_tenant_room_info') }} as i
cross join {{ source('staging', 'dump_info') }} as d
