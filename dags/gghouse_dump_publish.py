"""## gghouse_dump_publish: the nightly dump of the gghouse source, 01:00 JST

### What it does
Dumps the source database named by the Secrets Manager secret `SOURCE_SECRET_ID` (host, port,
dbname, username, password all required; no fallback) from **one consistent snapshot**, as
mysqldump-compatible SQL written in Python (MWAA has no mysql client), streamed by multipart
upload to `dumps/gghouse_YYYYMMDD.sql[.gz]` with its sha256, size and contract-table row counts
computed on the way. Only then is `dumps-manifest/gghouse_YYYYMMDD.json` written: a valid
manifest means the pair is whole, and `tokyobeta_daily_etl` (02:00 JST) loads it.
A failure aborts the upload (no object appears) and writes an **invalid** manifest
(`PUBLISH_FAILED`, the error in `detail`), so the daily run skips the day instead of waiting.
A day that already has a valid (or hand-quarantined) manifest is never replaced unless the run
asks for it (`replace`); a failed republish leaves the good pair as it was.
With `PUBLISH_FROZEN` true the task ends **skipped** with an SNS notice and writes nothing.

### Settings

### How to rerun a day
- **Republish one day**: Trigger DAG w/ config, `dump_date` = the day (YYYY-MM-DD), `replace`
  = true when the day already has a valid or hand-quarantined manifest, `gzip` as wanted. The
  dump is always of the source *as it is now*: republishing a past day gives today's data under
  that day's name, so only do it for the newest day, or knowingly.
- **Frozen**: set the Variable `PUBLISH_FROZEN` to false first (or the run just skips).
- **Keep a day out of the warehouse**: `tokyobeta quarantine-day --date D --reason "..."`.
- The same from a shell: `tokyobeta publish-dump --date D [--replace] [--gzip]`.
"""

from datetime import timedelta

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.python import PythonOperator
from airflow.timetables.trigger import CronTriggerTimetable

from tokyobeta import dagkit, monitoring, settings
from tokyobeta.ops import alerts, publish
from tokyobeta.ui import dagdoc

cfg = settings.from_env()

with DAG(
    dag_id="gghouse_dump_publish",
    description="gghouse source -> consistent snapshot -> dumps/ (multipart) -> manifest, last",
    schedule=CronTriggerTimetable(cfg.publish_schedule, timezone=dagkit.TIMEZONE),
    start_date=dagkit.START_DATE,
    catchup=False,
    max_active_runs=1,
    default_args=dagkit.default_args(cfg),
    params={
        "dump_date": Param(None, type=["null", "string"], format="date", title="dump_date",
                           description="Dump day to publish (YYYY-MM-DD). Empty: the run's logical day in JST."),
        "gzip": Param(False, type="boolean", title="gzip", description="Publish gghouse_YYYYMMDD.sql.gz."),
        "replace": Param(False, type="boolean", title="replace",
                         description="Republish a day that already has a valid or hand-quarantined manifest."),
    },
    on_failure_callback=alerts.on_dag_failure,
    tags=["tokyobeta", "publish", "source"],
    doc_md=dagdoc.render(__doc__, ["SOURCE_SECRET_ID", "PUBLISH_FROZEN", "PUBLISH_SCHEDULE", "DUMP_BUCKET",
                                   "DUMPS_PREFIX", "MANIFEST_PREFIX", "TASK_RETRIES", "ALERT_TOPIC_ARN"]),
) as dag:
    heartbeat = PythonOperator(
        task_id="heartbeat", python_callable=monitoring.heartbeat, execution_timeout=timedelta(minutes=5))
    # ~1 GB at a few tens of MB/s is minutes; an hour leaves room for a slow source and still
    # ends well before the 02:00 daily run gives up waiting (MANIFEST_WAIT_HOURS).
    publish_dump = PythonOperator(
        task_id="publish_dump", python_callable=publish.publish_task, execution_timeout=timedelta(hours=1))
