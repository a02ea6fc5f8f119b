"""## tokyobeta_daily_etl: one run per dump day

### What it does
Loads one night's gghouse dump into the warehouse, at 02:00 JST for that day's dump:
`wait_for_manifest` waits for the dump's manifest in S3 (the publisher writes it last);
`check_manifest` checks the manifest, the source it came from and the dump's size and sha256,
and **quarantines** a bad day (every later task is skipped, nothing is loaded, the dump is
copied to `dumps-quarantine/` and an alert goes out; the reason is in this task's **note** and
log); `load_staging` loads the five contract tables and swaps them in at once (the previous load
stays in `staging_backup`); `enrich` fills nationality and municipality; `dbt_silver` and
`dbt_gold` build the models into the **candidate** schemas `silver_candidate` and
`gold_candidate`, which no reader uses (the lineage is under Browse > dbt Docs);
`audit_candidates` runs every dbt test and the KPI sanity checks on them, and
`publish_silver_gold` swaps them in with one atomic `RENAME TABLE` (write-audit-publish);
`upsert_kpis` refreshes `gold.occupancy_daily_metrics`; `archive_dump` copies the dump to
`dumps-archive/` and writes the day's **lineage** (dump, verdict, load, publications, KPIs,
archive with S3 keys, versions and run ids) into the run's note; `tokyobeta lineage --date D`
prints the same chain.
The buttons "S3: manifest", "S3: dump", ... in a task's details open the objects it used.

### Settings

### How to rerun a day
Everything a run reads and writes is keyed by its dump date, so a rerun gives the same tables.
- **One day again**: Trigger DAG (the play button) > *Trigger DAG w/ config*, set `dump_date`
  (YYYY-MM-DD) and, if needed, the other fields (empty = Variable/env/default), then Trigger.
- **From one task on**: in the grid, pick the task of that run > Clear > *Downstream*; the
  task and everything after it run again for the run's dump date.
- **A quarantined day**: read the note on `check_manifest` (or `load_staging`); once the
  publisher has written a good dump and manifest for that day, clear `check_manifest` with
  *Downstream*. No day is ever filled from another day's data.
- **A missed day** (the sensor timed out): trigger the day with its `dump_date` as above.
- **A held day** (`audit_candidates` failed: one alert names the test or KPI check, the model
  and a few ids): readers keep the previous silver and gold, the held build stays in the
  candidate schemas. Fix the model and clear `dbt_silver` with *Downstream*; for bad data, have
  a corrected dump published and clear `check_manifest` with *Downstream*. A KPI change that is
  real (rooms really removed) passes with a higher `kpi_max_rooms_drop_share` /
  `kpi_max_daily_move_ins` in *Trigger DAG w/ config*.

```
wait_for_manifest > check_manifest > load_staging > enrich > dbt_silver > dbt_gold
  > audit_candidates > publish_silver_gold > upsert_kpis > archive_dump
```
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator, ShortCircuitOperator
from airflow.timetables.trigger import CronTriggerTimetable

from tokyobeta import daily, dagkit, monitoring, settings
from tokyobeta.ingest.sensor import ManifestSensor
from tokyobeta.ops import alerts
from tokyobeta.transform.cosmos_groups import dbt_task_group
from tokyobeta.ui import dagdoc

cfg = settings.from_env()

with DAG(
    dag_id="tokyobeta_daily_etl",
    description="gghouse dump -> staging -> enrichment -> dbt silver/gold -> KPIs -> archive",
    schedule=CronTriggerTimetable(cfg.daily_schedule, timezone=dagkit.TIMEZONE),
    start_date=dagkit.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dagkit.default_args(cfg),
    params=dagkit.daily_params(),
    on_failure_callback=alerts.on_dag_failure,
    sla_miss_callback=alerts.on_sla_miss,
    tags=["tokyobeta", "daily", "etl"],
    doc_md=dagdoc.render(__doc__, [
        "DUMP_BUCKET", "DUMPS_PREFIX", "MANIFEST_PREFIX", "ARCHIVE_PREFIX", "QUARANTINE_PREFIX",
        "SOURCE_SECRET_ID", "DAILY_SCHEDULE", "MANIFEST_WAIT_HOURS", "TASK_RETRIES", "DBT_WATCHER_POKE_SECONDS",
        "STAGING_BACKUPS_KEPT",
        "ENRICHMENT_ENABLED", "ENRICHMENT_PROVIDER", "ENRICHMENT_MAX_MODEL_CALLS", "KPI_ENABLED",
        "KPI_LOOKBACK_DAYS", "KPI_FORWARD_DAYS", "KPI_MAX_ROOMS_DROP_SHARE", "KPI_MAX_DAILY_MOVE_INS",
        "DAILY_FAIL_ON_ARCHIVE_ERROR", "OPENLINEAGE_EVENTS", "ALERT_TOPIC_ARN"]),
) as dag:
    wait_for_manifest = ManifestSensor(
        task_id="wait_for_manifest",
        mode="reschedule",
        poke_interval=cfg.manifest_poke_seconds,
        timeout=cfg.manifest_wait_hours * 3600,
        retries=0,
    )
    check_manifest = ShortCircuitOperator(
        task_id="check_manifest", python_callable=daily.check_manifest,
        execution_timeout=timedelta(minutes=10))
    load_staging = PythonOperator(
        task_id="load_staging", python_callable=daily.load_staging,
        execution_timeout=timedelta(minutes=45))
    enrich = PythonOperator(
        task_id="enrich", python_callable=daily.enrich, execution_timeout=timedelta(minutes=30))
    dbt_silver = dbt_task_group("dbt_silver", ["path:models/silver"], cfg,
                                sources_and_seeds_first=True)
    dbt_gold = dbt_task_group("dbt_gold", ["path:models/gold"], cfg)
    # A failed audit is final (no retry: the same candidates fail the same tests).
    audit_candidates = PythonOperator(
        task_id="audit_candidates", python_callable=daily.audit_candidates,
        execution_timeout=timedelta(minutes=20))
    publish_silver_gold = PythonOperator(
        task_id="publish_silver_gold", python_callable=daily.publish_silver_gold,
        execution_timeout=timedelta(minutes=10))
    # Its success is "gold published": the SLA (SLA_GOLD_DEADLINE JST on the dump day) sits here.
    upsert_kpis = PythonOperator(
        task_id="upsert_kpis", python_callable=daily.upsert_kpis, execution_timeout=timedelta(minutes=15),
        **dagkit.gold_sla_args(cfg))
    archive_dump = PythonOperator(
        task_id="archive_dump", python_callable=daily.archive_dump, execution_timeout=timedelta(minutes=20))

    # First thing every run, in parallel with the sensor: proves the scheduler still schedules.
    heartbeat = PythonOperator(
        task_id="heartbeat", python_callable=monitoring.heartbeat, execution_timeout=timedelta(minutes=5))

    (wait_for_manifest >> check_manifest >> load_staging >> enrich >> dbt_silver >> dbt_gold
     >> audit_candidates >> publish_silver_gold >> upsert_kpis >> archive_dump)
