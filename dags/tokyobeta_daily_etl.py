"""tokyobeta_daily_etl: one run per dump day (DESIGN section 1). Declares tasks and order only;
the work lives in the tokyobeta package."""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator, ShortCircuitOperator
from airflow.timetables.trigger import CronTriggerTimetable

from tokyobeta import daily, dagkit, settings
from tokyobeta.ingest.sensor import ManifestSensor
from tokyobeta.transform.cosmos_groups import dbt_task_group

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
    tags=["tokyobeta", "daily", "etl"],
    doc_md=__doc__,
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
    dbt_silver = dbt_task_group("dbt_silver", ["path:seeds", "path:models/silver"], cfg,
                                sources_and_seeds_first=True)
    dbt_gold = dbt_task_group("dbt_gold", ["path:models/gold"], cfg)
    upsert_kpis = PythonOperator(
        task_id="upsert_kpis", python_callable=daily.upsert_kpis, execution_timeout=timedelta(minutes=15))
    archive_dump = PythonOperator(
        task_id="archive_dump", python_callable=daily.archive_dump, execution_timeout=timedelta(minutes=20))

    wait_for_manifest >> check_manifest >> load_staging >> enrich >> dbt_silver >> dbt_gold >> upsert_kpis >> archive_dump
