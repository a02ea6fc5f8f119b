{#- Models land in silver and gold exactly (not dbt's default <target>_<custom>), with the
    same SCHEMA_PREFIX the Python side uses so tests never touch the demo's schemas.
    With TOKYOBETA_DBT_CANDIDATES=1 (the daily DAG's dbt tasks and its audit) silver and gold
    models and seeds land in their twins <layer>_candidate instead, which no reader uses: the
    publish step swaps them in once every test passed (plugins/tokyobeta/transform/publish.py).
    A developer's plain `dbt build` keeps writing the live schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('SCHEMA_PREFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- elif building_candidates() and custom_schema_name | trim in ['silver', 'gold'] -%}
        {{ prefix ~ custom_schema_name | trim ~ '_candidate' }}
    {%- else -%}
        {{ prefix ~ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}


{% macro building_candidates() -%}
    {{ return(env_var('TOKYOBETA_DBT_CANDIDATES', '') | lower in ['1', 'true', 'yes']) }}
{%- endmacro %}


{#- on-run-start: a candidate build makes the twins hold something not yet published, so the
    marker a publish left there (naming the publication swapped OUT) goes; publish refuses a
    twin whose marker names another publication (an old one, not a build of this run). -#}
{% macro forget_candidate_publication() -%}
    {%- if building_candidates() -%}
        {%- for layer in ['silver', 'gold'] -%}
            {#- a missing schema or table is only a note on MySQL and MariaDB -#}
            {% do run_query('drop table if exists `' ~ env_var('SCHEMA_PREFIX', '') ~ layer ~ '_candidate`.`publication`') %}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
