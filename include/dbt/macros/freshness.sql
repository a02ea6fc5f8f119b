{#- Source freshness in UTC on both sides. The source's DATETIMEs are naive JST, so each
    loaded_at_field converts with convert_tz(..., '+09:00', '+00:00'), and "now" is
    utc_timestamp(): the server's time_zone (SYSTEM locally, UTC on Aurora) never matters. -#}
{% macro mysql__collect_freshness(source, loaded_at_field, filter) %}
  {% call statement('collect_freshness', fetch_result=True, auto_begin=False) -%}
    select
      max({{ loaded_at_field }}) as max_loaded_at,
      utc_timestamp() as snapshotted_at
    from {{ source }}
    {% if filter %}
    where {{ filter }}
    {% endif %}
  {%- endcall %}
  {{ return(load_result('collect_freshness')) }}
{% endmacro %}
