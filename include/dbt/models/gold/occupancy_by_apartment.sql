-- Occupancy per apartment on the latest snapshot: rooms with a tenant in residence
-- (status 6 or 7) over all rooms of the apartment.
with latest as (
    select * from {{ ref('tenant_room_snapshot_daily') }}
    where snapshot_date = (select max(snapshot_date) from {{ ref('tenant_room_snapshot_daily') }})
),

occupied as (
    select apartment_id, snapshot_date, count(distinct room_id) as occupied_rooms
    from latest
    where status in (6, 7)
    group by apartment_id, snapshot_date
),

rooms as (
    select apartment_id, count(*) as total_rooms
    from {{ source('staging', 'rooms') }}
    group by apartment_id
)

select
    a.id as apartment_id,
    a.name as apartment_name,
    (select max(snapshot_date) from latest) as snapshot_date,
    coalesce(o.occupied_rooms, 0) as occupied_rooms,
    r.total_rooms,
    round(coalesce(o.occupied_rooms, 0) / r.total_rooms, 4) as occupancy_rate
from {{ source('staging', 'apartments') }} as a
inner join rooms as r on r.apartment_id = a.id
left join occupied as o on o.apartment_id = a.id
