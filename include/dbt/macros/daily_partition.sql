{#-
  The daily_partition materialization: a table with one slice per dump day, where building a
  day replaces that day only.

  * The first build (or --full-refresh, for models that allow it) computes every day the model
    can compute, builds the table beside the live one and swaps it in with one RENAME TABLE.
  * Afterwards a build computes the staging load's dump day into a temporary table first, checks
    it (same columns as the table, no row for another day), then deletes the day and inserts it
    inside ONE transaction. A failure anywhere before COMMIT (a query error, a killed worker,
    a lost connection) rolls back to the previous contents of the day. Temporary tables do not
    commit implicitly on MySQL 8 or MariaDB, and nothing else runs DDL between BEGIN and COMMIT.

  * Candidate mode (the daily DAG: the model's schema is <layer>_candidate, see
    generate_schema_name.sql): the twin of a live table holds, after a publish, the PREVIOUS
    publication (the publish swaps the old live table into the twin). Before replacing the dump
    day, the same transaction first brings the twin up to date by re-copying from the live table
    only its "dirty days" (the days the twin's last build wrote, kept in <twin>__dirty_days beside
    it) and records the dump day as the new dirty day: a year of history is never copied daily.
    A twin that does not exist yet while the live table does is cloned from it once, and so is a
    twin without its dirty-day table (its state is unknown). A full rebuild marks the whole table
    dirty, so the next build clones the live table again.
    One dirty-day table per model, not one shared by all: the gold models build side by side, and
    in a shared table each transaction's DELETE of its own model's rows took next-key locks into
    its neighbour's rows, so two builds deadlocked (MariaDB error 1213) on their INSERTs.

  Config:  day_column   the column holding the day (a DATE)
           primary_key  list of columns; added as the PRIMARY KEY when the table is created, so
                        the database itself refuses a duplicate and a day is a contiguous range
  Models filter their input with dump_day_filter() so both paths run the same SQL.
-#}
{% materialization daily_partition, adapter='mysql' %}
  {%- set day_column = config.require('day_column') -%}
  {%- set primary_key = config.require('primary_key') -%}
  {%- set target_relation = this.incorporate(type='table') -%}
  {%- set existing_relation = load_relation(this) -%}
  {%- set live_relation = _daily_partition_live(target_relation) -%}

  {{ run_hooks(pre_hooks, inside_transaction=False) }}

  {%- if should_full_refresh() or (existing_relation is none and live_relation is none) -%}
    {{ _daily_partition_rebuild(target_relation, existing_relation, primary_key, sql) }}
    {%- if _daily_partition_is_twin(target_relation) -%}
      {{ _daily_partition_mark_dirty(target_relation, _daily_partition_whole_table()) }}
    {%- endif -%}
  {%- else -%}
    {%- if live_relation is not none -%}
      {{ _daily_partition_clone_if_needed(target_relation, existing_relation, live_relation) }}
    {%- endif -%}
    {{ _daily_partition_replace_day(target_relation, day_column, sql, live_relation) }}
  {%- endif -%}

  {{ run_hooks(post_hooks, inside_transaction=False) }}
  {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}


{% macro _daily_partition_rebuild(target_relation, existing_relation, primary_key, sql) %}
  {%- set new_relation = target_relation.incorporate(path={"identifier": target_relation.identifier ~ '__dbt_new'}) -%}
  {%- set old_relation = target_relation.incorporate(path={"identifier": target_relation.identifier ~ '__dbt_old'}) -%}
  {% do run_query("drop table if exists " ~ new_relation) %}
  {% do run_query("drop table if exists " ~ old_relation) %}
  {% call statement('main') %}
    {{ create_table_as(False, new_relation, sql) }}
  {% endcall %}
  {% do run_query("alter table " ~ new_relation ~ " add primary key (" ~ primary_key | join(', ') ~ ")") %}
  {%- if existing_relation is none -%}
    {% do run_query("rename table " ~ new_relation ~ " to " ~ target_relation) %}
  {%- else -%}
    {#- one RENAME TABLE of both: readers see the old table or the new one, never neither -#}
    {% do run_query("rename table " ~ target_relation ~ " to " ~ old_relation ~ ", " ~ new_relation ~ " to " ~ target_relation) %}
    {% do run_query("drop table " ~ old_relation) %}
  {%- endif -%}
  {{ _daily_partition_commit() }}
{% endmacro %}


{% macro _daily_partition_replace_day(target_relation, day_column, sql, live_relation=none) %}
  {%- set day = staging_dump_date() -%}
  {%- set tmp_relation = make_temp_relation(target_relation) -%}
  {% do run_query("drop temporary table if exists " ~ tmp_relation) %}
  {% do run_query(create_table_as(True, tmp_relation, sql)) %}

  {%- set target_columns = adapter.get_columns_in_relation(target_relation) | map(attribute='name') | list -%}
  {%- set new_columns = adapter.get_columns_in_relation(tmp_relation) | map(attribute='name') | list -%}
  {%- if target_columns | sort != new_columns | sort -%}
    {{ exceptions.raise_compiler_error(
        target_relation ~ " has columns " ~ target_columns ~ " but the model now selects " ~ new_columns
        ~ ". Migrate the table (ALTER TABLE ... ADD COLUMN ...) or, for a model rebuilt from silver history, run dbt with --full-refresh.") }}
  {%- endif -%}

  {%- set stray = run_query("select count(*) from " ~ tmp_relation ~ " where " ~ day_column
                            ~ " is null or " ~ day_column ~ " <> '" ~ day ~ "'").columns[0].values()[0] -%}
  {%- if stray > 0 -%}
    {{ exceptions.raise_compiler_error(
        model.name ~ " computed " ~ stray ~ " row(s) for a day other than the dump day " ~ day
        ~ "; a daily_partition model must filter its input with dump_day_filter().") }}
  {%- endif -%}

  {%- set columns = adapter.get_columns_in_relation(target_relation) | map(attribute='quoted') | join(', ') -%}
  {%- if live_relation is not none -%}
    {%- set dirty = _daily_partition_dirty_relation(target_relation) -%}
    {#- the twin becomes the live table again, then day D becomes its only dirty day -#}
    {% call statement('sync_dirty_days') %}
      delete from {{ target_relation }} where {{ day_column }} in (select day from {{ dirty }})
    {% endcall %}
    {% call statement('copy_dirty_days') %}
      insert into {{ target_relation }} ({{ columns }})
      select {{ columns }} from {{ live_relation }} where {{ day_column }} in (select day from {{ dirty }})
    {% endcall %}
    {% call statement('mark_dirty') %}
      delete from {{ dirty }}
    {% endcall %}
    {% call statement('mark_dirty_day') %}
      insert into {{ dirty }} (day) values ('{{ day }}')
    {% endcall %}
  {%- endif -%}
  {% call statement('replace_day') %}
    delete from {{ target_relation }} where {{ day_column }} = '{{ day }}'
  {% endcall %}
  {% call statement('main') %}
    insert into {{ target_relation }} ({{ columns }}) select {{ columns }} from {{ tmp_relation }}
  {% endcall %}
  {{ _daily_partition_commit() }}
  {% do run_query("drop temporary table if exists " ~ tmp_relation) %}
{% endmacro %}


{#- In candidate mode (schema <layer>_candidate) the live table of the twin, or none when it
    does not exist yet; none outside candidate mode. -#}
{% macro _daily_partition_is_twin(relation) %}
  {{ return(relation.schema.endswith('_candidate')) }}
{% endmacro %}


{% macro _daily_partition_live(relation) %}
  {%- if not _daily_partition_is_twin(relation) -%}
    {{ return(none) }}
  {%- endif -%}
  {{ return(adapter.get_relation(relation.database, relation.schema[:-('_candidate' | length)], relation.identifier)) }}
{% endmacro %}


{#- <twin>__dirty_days(day), beside the twin: the days the twin's last build wrote. -#}
{% macro _daily_partition_dirty_relation(relation) %}
  {%- set dirty = relation.incorporate(path={"identifier": relation.identifier ~ '__dirty_days'}) -%}
  {% do run_query("create table if not exists " ~ dirty ~ " (day date not null primary key) engine=InnoDB") %}
  {{ return(dirty) }}
{% endmacro %}


{#- The day standing for "every day": the twin differs from the live table everywhere. -#}
{% macro _daily_partition_whole_table() %}
  {{ return('1000-01-01') }}
{% endmacro %}


{% macro _daily_partition_mark_dirty(relation, day) %}
  {%- set dirty = _daily_partition_dirty_relation(relation) -%}
  {% call statement('forget_dirty_days') %}
    delete from {{ dirty }}
  {% endcall %}
  {% call statement('mark_dirty_day') %}
    insert into {{ dirty }} (day) values ('{{ day }}')
  {% endcall %}
  {{ _daily_partition_commit() }}
{% endmacro %}


{#- The twin becomes a copy of the live table (CREATE TABLE LIKE + INSERT SELECT, swapped in by
    one RENAME) when it does not exist yet, is dirty as a whole, or has no dirty-day table (a
    twin from before the tables were per model: which days differ is unknown). A crash before
    the dirty mark is cleared only means cloning again. -#}
{% macro _daily_partition_clone_if_needed(target_relation, existing_relation, live_relation) %}
  {%- set dirty_known = adapter.get_relation(target_relation.database, target_relation.schema,
                                             target_relation.identifier ~ '__dirty_days') is not none -%}
  {%- set dirty = _daily_partition_dirty_relation(target_relation) -%}
  {%- set whole = run_query("select count(*) from " ~ dirty ~ " where day = '"
                            ~ _daily_partition_whole_table() ~ "'").columns[0].values()[0] -%}
  {%- if existing_relation is not none and dirty_known and whole == 0 -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set clone = target_relation.incorporate(path={"identifier": target_relation.identifier ~ '__dbt_clone'}) -%}
  {%- set old = target_relation.incorporate(path={"identifier": target_relation.identifier ~ '__dbt_old'}) -%}
  {{ log("cloning " ~ live_relation ~ " into " ~ target_relation ~ " (its twin is missing or dirty as a whole)", info=true) }}
  {% do run_query("drop table if exists " ~ clone) %}
  {% do run_query("drop table if exists " ~ old) %}
  {% do run_query("create table " ~ clone ~ " like " ~ live_relation) %}
  {% call statement('clone_rows') %}
    insert into {{ clone }} select * from {{ live_relation }}
  {% endcall %}
  {{ _daily_partition_commit() }}
  {%- if existing_relation is none -%}
    {% do run_query("rename table " ~ clone ~ " to " ~ target_relation) %}
  {%- else -%}
    {% do run_query("rename table " ~ target_relation ~ " to " ~ old ~ ", " ~ clone ~ " to " ~ target_relation) %}
    {% do run_query("drop table " ~ old) %}
  {%- endif -%}
  {% call statement('forget_dirty_days') %}
    delete from {{ dirty }}
  {% endcall %}
  {{ _daily_partition_commit() }}
{% endmacro %}


{#- Every transaction of the materialization ends here. Test hook (never set in production):
    TOKYOBETA_DBT_HOLD_TRANSACTION=<seconds> holds each one open that long before its COMMIT, so
    a test can build other models meanwhile (tests/integration/transform/test_publish.py). -#}
{% macro _daily_partition_commit() %}
  {%- set hold_seconds = env_var('TOKYOBETA_DBT_HOLD_TRANSACTION', '0') | float -%}
  {%- if hold_seconds > 0 -%}
    {% do run_query("select sleep(" ~ hold_seconds ~ ")") %}
  {%- endif -%}
  {% do adapter.commit() %}
{% endmacro %}


{#- The dump day of the current staging load (staging.dump_info, swapped in with the tables). -#}
{% macro staging_dump_date() %}
  {%- set dump_info = source('staging', 'dump_info') -%}
  {%- set day = run_query("select max(dump_date) from " ~ dump_info).columns[0].values()[0] -%}
  {%- if day is none -%}
    {{ exceptions.raise_compiler_error(dump_info ~ " is empty: load_staging has not loaded a dump yet.") }}
  {%- endif -%}
  {{ return(day | string) }}
{% endmacro %}


{#- True while a daily_partition model builds only the dump day (its table, or in candidate
    mode its twin or live table, exists and no full refresh was asked for); False on the first
    build, which computes every available day. -#}
{% macro building_dump_day_only() %}
  {%- if not execute -%}
    {{ return(false) }}
  {%- endif -%}
  {%- set relation = adapter.get_relation(this.database, this.schema, this.identifier) -%}
  {%- if relation is none and this.schema.endswith('_candidate') -%}
    {#- a twin not cloned yet: its live table makes this a day build too -#}
    {%- set relation = adapter.get_relation(this.database, this.schema[:-('_candidate' | length)], this.identifier) -%}
  {%- endif -%}
  {{ return(relation is not none and not should_full_refresh()) }}
{% endmacro %}


{#- WHERE condition restricting `column` to the dump day, or to every day on a first build. -#}
{% macro dump_day_filter(column) -%}
  {%- set dump_info = source('staging', 'dump_info') -%}
  {%- if building_dump_day_only() -%}
    {{ column }} = (select max(dump_date) from {{ dump_info }})
  {%- else -%}
    {{ column }} is not null
  {%- endif -%}
{%- endmacro %}


{#- The snapshot days a daily_partition model builds (the dump day, or every day on a first
    build), each with the snapshot day before it. LAG over the distinct days (a loose index
    scan of the primary key) rather than a correlated MAX(...) < day, which MariaDB answers
    with a full index scan per day. -#}
{% macro snapshot_days(snapshots) -%}
    select snapshot_date, previous_snapshot_date
    from (
        select snapshot_date, lag(snapshot_date) over (order by snapshot_date) as previous_snapshot_date
        from (select distinct snapshot_date from {{ snapshots }}) as all_days
    ) as consecutive_days
    where {{ dump_day_filter('snapshot_date') }}
{%- endmacro %}
