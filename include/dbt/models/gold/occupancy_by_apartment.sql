-- Occupancy per apartment per snapshot day, from that day's own snapshot: rooms occupied at
-- the end of the day (silver occupancy_start <= day < occupancy_end: residents in status 6/7,
-- and contracts in status 4/5 whose move-in date has come) over every room of the apartment in
-- that day's load. Dashboards show the latest day: WHERE snapshot_date = MAX(snapshot_date).
{{ config(
    materialized='daily_partition',
    day_column='snapshot_date',
    primary_key=['snapshot_date', 'apartment_id'],
) }}

with days as (
    select distinct snapshot_date
    from {{ ref('tenant_room_snapshot_daily') }}
    where {{ dump_day_filter('snapshot_date') }}
),

occupied as (
    select
        s.snapshot_date,
        s.apartment_id,
        count(distinct s.room_id) as occupied_rooms,
        count(distinct s.tenant_id) as residents
    from {{ ref('tenant_room_snapshot_daily') }} as s
    inner join days as d on d.snapshot_date = s.snapshot_date
    where s.occupancy_start <= s.snapshot_date
      and (s.occupancy_end is null or s.occupancy_end > s.snapshot_date)
    group by s.snapshot_date, s.apartment_id
),

rooms as (
    select apartment_id, count(*) as total_rooms
    from {{ source('staging', 'rooms') }}
    group by apartment_id
)

select
    d.snapshot_date,
    r.apartment_id,
    a.name as apartment_name,
    coalesce(place.prefecture, a.prefecture) as prefecture,
    coalesce(place.municipality, a.municipality) as municipality,
    cast(coalesce(o.occupied_rooms, 0) as signed) as occupied_rooms,
    cast(r.total_rooms as signed) as total_rooms,
    cast(coalesce(o.residents, 0) as signed) as residents,
    cast(round(coalesce(o.occupied_rooms, 0) / r.total_rooms, 4) as decimal(7, 4)) as occupancy_rate
from days as d
cross join rooms as r
left join {{ source('staging', 'apartments') }} as a on a.id = r.apartment_id
left join {{ source('staging', 'apartment_municipality_map') }} as place on place.apartment_id = r.apartment_id
left join occupied as o on o.snapshot_date = d.snapshot_date and o.apartment_id = r.apartment_id
