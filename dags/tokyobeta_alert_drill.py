"""## tokyobeta_alert_drill: proves the alert path end to end. Trigger it by hand once a month.

### What it does
Its one task, fail_on_purpose, raises AlertDrillFailure ("ALERT DRILL <run id>: this failure is
intentional ..."), is retried once after 5 s and fails again. That final failure goes through
the same on_failure_callback as every production task, so the on-call receives
"[tokyobeta] FAILED tokyobeta_alert_drill.fail_on_purpose" and then the run summary
"[tokyobeta] RUN FAILED tokyobeta_alert_drill ...". No message within minutes means the path is
broken (topic, subscription, connection, callback): treat it as an incident. The optional
`note` param is echoed in the message, e.g. the drill ticket number.

### Settings

### How to rerun a day
This DAG has no days: trigger it again (Trigger DAG); each run is a new drill.
"""

from datetime import timedelta

from airflow import DAG
from airflow.models.param import Param
from airflow.operators.python import PythonOperator

from tokyobeta import dagkit, monitoring, settings
from tokyobeta.ops import alerts
from tokyobeta.ui import dagdoc

cfg = settings.from_env()

with DAG(
    dag_id="tokyobeta_alert_drill",
    description="manual: fails on purpose to prove that failures reach SNS",
    schedule=None,
    start_date=dagkit.START_DATE,
    catchup=False,
    max_active_runs=1,
    # One quick retry: the drill also shows that an attempt with a retry left stays silent.
    default_args=dagkit.default_args(cfg, retries=1, retry_delay=timedelta(seconds=5),
                                     retry_exponential_backoff=False, execution_timeout=timedelta(minutes=5)),
    params={"note": Param("", type="string", title="note",
                          description="Echoed in the alert, e.g. the drill ticket or who is drilling.")},
    on_failure_callback=alerts.on_dag_failure,
    tags=["tokyobeta", "monitoring", "drill"],
    doc_md=dagdoc.render(__doc__, ["ALERT_TOPIC_ARN", "AWS_CONN_ID"]),
) as dag:
    PythonOperator(task_id="fail_on_purpose", python_callable=monitoring.fail_on_purpose)
