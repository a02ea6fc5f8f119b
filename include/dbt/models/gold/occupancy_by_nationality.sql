-- Residents per nationality per snapshot day: tenants occupying a room at the end of the day
-- (same rule as occupancy_by_apartment), by the ISO country code enrichment gave their
-- free-text nationality ('UNKNOWN' when it could not), with their share of all residents.
{{ config(
    materialized='daily_partition',
    day_column='snapshot_date',
    primary_key=['snapshot_date', 'nationality_code'],
) }}

with occupying as (
    select s.snapshot_date, s.tenant_id, s.room_id, s.nationality_code
    from {{ ref('tenant_room_snapshot_daily') }} as s
    where {{ dump_day_filter('s.snapshot_date') }}
      and s.occupancy_start <= s.snapshot_date
      and (s.occupancy_end is null or s.occupancy_end > s.snapshot_date)
),

by_nationality as (
    select
        snapshot_date,
        nationality_code,
        count(distinct tenant_id) as residents,
        count(distinct room_id) as occupied_rooms
    from occupying
    group by snapshot_date, nationality_code
),

all_residents as (
    select snapshot_date, count(distinct tenant_id) as residents
    from occupying
    group by snapshot_date
),

labels as (
    select country_code, max(label_en) as label_en, max(label_ja) as label_ja
    from {{ source('staging', 'nationality_map') }}
    group by country_code
)

select
    n.snapshot_date,
    n.nationality_code,
    coalesce(l.label_en, case when n.nationality_code = 'UNKNOWN' then 'Unknown' else n.nationality_code end) as nationality_en,
    coalesce(l.label_ja, case when n.nationality_code = 'UNKNOWN' then '不明' else n.nationality_code end) as nationality_ja,
    cast(n.residents as signed) as residents,
    cast(n.occupied_rooms as signed) as occupied_rooms,
    cast(round(n.residents / a.residents, 4) as decimal(7, 4)) as share_of_residents
from by_nationality as n
inner join all_residents as a on a.snapshot_date = n.snapshot_date
left join labels as l on l.country_code = n.nationality_code
