"""## tokyobeta_verify_env: is this environment able to run the pipeline?

### What it does
The post-deploy conformance check, run inside the environment itself (on MWAA the only place
that sees its connections, secrets backend and dbt virtualenv). One task, `verify`, checks that
every DAG file imports, that dbt (`DBT_EXECUTABLE_PATH`, built by startup.sh) runs and reaches
the warehouse through the `tokyobeta_mysql` connection, that `aws_default` resolves, and that
the dump bucket and the SNS alert topic answer. Its log lists each check with what it saw; the
task fails (and alerts) when any check fails. Locally the same checks are `tokyobeta verify-env`.

### Settings

### How to rerun a day
This DAG has no days: `tokyobeta deploy` triggers it after every deploy and waits for it
(`tokyobeta deploy --verify-only` runs it alone); trigger it again (Trigger DAG) after fixing
whatever its log reported as FAILED.
"""

from datetime import timedelta

from airflow import DAG
from airflow.operators.python import PythonOperator

from tokyobeta import dagkit, settings
from tokyobeta.ops import alerts
from tokyobeta.ops.verify import DAG_ID, verify_environment
from tokyobeta.ui import dagdoc

cfg = settings.from_env()

with DAG(
    dag_id=DAG_ID,
    description="post-deploy check: DAGs import, dbt runs, connections, bucket and SNS topic",
    schedule=None,
    start_date=dagkit.START_DATE,
    catchup=False,
    default_args=dagkit.default_args(cfg, retries=1, retry_delay=timedelta(minutes=1)),
    on_failure_callback=alerts.on_dag_failure,
    tags=["tokyobeta", "ops"],
    doc_md=dagdoc.render(__doc__, ["DBT_EXECUTABLE_PATH", "MYSQL_CONN_ID", "AWS_CONN_ID", "DUMP_BUCKET",
                                   "ALERT_TOPIC_ARN", "INCLUDE_DIR"]),
) as dag:
    PythonOperator(task_id="verify", python_callable=verify_environment, execution_timeout=timedelta(minutes=10))
