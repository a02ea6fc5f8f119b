"""## tokyobeta_freshness: 09:00 JST, after the 08:30 gold SLA and before the business day.

### What it does
How old every staging, silver and gold table is, how old the newest valid upstream dump is and
how long since tokyobeta_daily_etl last succeeded; CloudWatch metrics (TokyoBeta/DataQuality)
and one SNS alert listing every breach. If it cannot read something it fails (and alerts):
it never reports a partial check as success. Rules: plugins/tokyobeta/ops/freshness.py.

### Settings

### How to rerun a day
Clear `check_freshness` of the run: ages are measured as of the run's 09:00 slot, so a rerun of
an old run gives that morning's numbers again (and publishes its metrics again).
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator
from airflow.timetables.trigger import CronTriggerTimetable

from tokyobeta import dagkit, monitoring, settings
from tokyobeta.ops import alerts
from tokyobeta.ui import dagdoc

cfg = settings.from_env()

with DAG(
    dag_id="tokyobeta_freshness",
    description="table staleness, upstream recency, hours since the daily run's success -> CloudWatch + SNS",
    schedule=CronTriggerTimetable(cfg.freshness_schedule, timezone=dagkit.TIMEZONE),
    start_date=dagkit.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dagkit.default_args(cfg),
    on_failure_callback=alerts.on_dag_failure,
    tags=["tokyobeta", "monitoring"],
    doc_md=dagdoc.render(__doc__, ["FRESHNESS_SCHEDULE", "STALENESS_THRESHOLD_DAYS", "UPSTREAM_MAX_AGE_HOURS",
                                   "MAX_HOURS_SINCE_DAILY_SUCCESS", "METRICS_NAMESPACE", "ALERT_TOPIC_ARN"]),
) as dag:
    heartbeat = PythonOperator(
        task_id="heartbeat", python_callable=monitoring.heartbeat, execution_timeout=timedelta(minutes=5))
    check_freshness = PythonOperator(
        task_id="check_freshness", python_callable=monitoring.check_freshness,
        execution_timeout=timedelta(minutes=10))
