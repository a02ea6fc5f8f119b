{#- Adds an index unless it exists. MySQL 8 has no CREATE INDEX IF NOT EXISTS (MariaDB does), so
    the check goes through information_schema; the same SQL runs on Aurora and MariaDB. -#}
{% macro ensure_index(relation, index_name, columns) -%}
    {%- if execute -%}
        {%- set found = run_query(
            "select count(*) from information_schema.statistics where table_schema = '"
            ~ relation.schema ~ "' and table_name = '" ~ relation.identifier
            ~ "' and index_name = '" ~ index_name ~ "'") -%}
        {%- if found.columns[0].values()[0] == 0 -%}
            {%- do run_query("alter table " ~ relation ~ " add index `" ~ index_name ~ "` (" ~ columns | join(", ") ~ ")") -%}
        {%- endif -%}
    {%- endif -%}
    select 1
{%- endmacro %}
