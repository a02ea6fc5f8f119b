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
),

-- every (day, apartment with rooms), occupied or not: a UNION ALL summed per key rather than
-- a LEFT JOIN of two derived tables, which MariaDB joins on half the key (slow on a year)
per_apartment as (
    select snapshot_date, apartment_id, sum(total_rooms) as total_rooms,
           sum(occupied_rooms) as occupied_rooms, sum(residents) as residents
    from (
        select d.snapshot_date, r.apartment_id, r.total_rooms, 0 as occupied_rooms, 0 as residents
        from days as d
        cross join rooms as r
        union all
        select snapshot_date, apartment_id, 0, occupied_rooms, residents
        from occupied
    ) as counts
    group by snapshot_date, apartment_id
    having sum(total_rooms) > 0
)

select
    p.snapshot_date,
    p.apartment_id,
    a.name as apartment_name,
    coalesce(place.prefecture, a.prefecture) as prefecture,
    coalesce(place.municipality, a.municipality) as municipality,
    cast(p.occupied_rooms as signed) as occupied_rooms,
    cast(p.total_rooms as signed) as total_rooms,
    cast(p.residents as signed) as residents,
    cast(round(p.occupied_rooms / p.total_rooms, 4) as decimal(7, 4)) as occupancy_rate
from per_apartment as p
left join {{ source('staging', 'apartments') }} as a on a.id = p.apartment_id
left join {{ source('staging', 'apartment_municipality_map') }} as place on place.apartment_id = p.apartment_id
