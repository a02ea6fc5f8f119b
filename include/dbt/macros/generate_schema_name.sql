{#- Models land in silver and gold exactly (not dbt's default <target>_<custom>), with the
    same SCHEMA_PREFIX the Python side uses so tests never touch the demo's schemas. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set prefix = env_var('SCHEMA_PREFIX', '') -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ prefix ~ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
