-- Occupancy per municipality (市区町村) per snapshot day: occupancy_by_apartment summed over
-- the apartments of each municipality. Municipality comes from enrichment (the source
-- often leaves it empty), else from the source; still unknown is grouped as 'UNKNOWN'.
{{ config(
    materialized='daily_partition',
    day_column='snapshot_date',
    primary_key=['snapshot_date', 'prefecture', 'municipality'],
) }}

select
    snapshot_date,
    coalesce(prefecture, 'UNKNOWN') as prefecture,
    coalesce(municipality, 'UNKNOWN') as municipality,
    cast(count(*) as signed) as apartments,
    cast(sum(occupied_rooms) as signed) as occupied_rooms,
    cast(sum(total_rooms) as signed) as total_rooms,
    cast(sum(residents) as signed) as residents,
    cast(round(sum(occupied_rooms) / sum(total_rooms), 4) as decimal(7, 4)) as occupancy_rate
from {{ ref('occupancy_by_apartment') }}
where {{ dump_day_filter('snapshot_date') }}
group by snapshot_date, coalesce(prefecture, 'UNKNOWN'), coalesce(municipality, 'UNKNOWN')
