-- One row per active tenant-room per snapshot_date, where snapshot_date is the dump date of
-- the staging load (never the wall clock). Re-running a day replaces that day only, in one
-- transaction (materialization daily_partition). History cannot be recomputed from staging,
-- so a --full-refresh never rebuilds this table (full_refresh = false).
{{ config(
    materialized='daily_partition',
    day_column='snapshot_date',
    primary_key=['snapshot_date', 'tenant_id', 'room_id'],
    full_refresh=false,
) }}

select
    i.dump_date as snapshot_date,
    i.tenant_id,
    i.room_id,
    i.apartment_id,
    i.moving_id,
    i.status,
    i.tenant_status,
    i.is_renewal,
    i.agreement_type_code,
    i.move_in_date,
    i.moveout_date,
    i.moveout_plans_date,
    i.effective_moveout_date,
    i.occupancy_start,
    i.occupancy_end,
    i.cancel_flag,
    i.rent,
    i.nationality_code,
    i.prefecture,
    i.municipality
from {{ ref('tokyo_beta_tenant_room_info') }} as i
where i.is_active
  and {{ dump_day_filter('i.dump_date') }}
