"""Post-deploy conformance check of an environment (`tokyobeta verify-env`, and the DAG
tokyobeta_verify_env that runs the same checks inside MWAA): the DAGs import, dbt runs and
reaches the warehouse, the connections resolve, the bucket and the alert topic answer.
Each check reports what it saw; none stops the others."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tokyobeta import settings
from tokyobeta.io import aws, mysql

# `tokyobeta deploy` triggers this DAG after every update of an MWAA environment.
DAG_ID = "tokyobeta_verify_env"


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float = 0.0


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.monotonic()
    try:
        detail = probe()
        ok = True
    except Exception as exc:  # noqa: BLE001 - a failed probe is a result, reported with its reason
        detail, ok = f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}", False
    return Check(name, ok, detail, time.monotonic() - started)


def dags_import(dag_folder: str) -> str:
    from airflow.models import DagBag

    bag = DagBag(dag_folder=dag_folder, include_examples=False)
    if bag.import_errors:
        failures = "; ".join(f"{Path(path).name}: {err.strip().splitlines()[-1]}" for path, err in bag.import_errors.items())
        raise RuntimeError(f"{len(bag.import_errors)} DAG file(s) do not import: {failures}")
    if not bag.dags:
        raise RuntimeError(f"no DAGs found in {dag_folder}")
    return f"{len(bag.dags)} DAGs import from {dag_folder}: {', '.join(sorted(bag.dags))}"


def dbt_runs(cfg: settings.Settings) -> str:
    """`dbt --version` and `dbt debug` (project, profile from the Airflow connection, warehouse)."""
    from tokyobeta.transform.cosmos_groups import profile_config

    dbt = cfg.dbt_executable_path
    if not Path(dbt).is_file():
        raise FileNotFoundError(f"DBT_EXECUTABLE_PATH {dbt} does not exist (on MWAA startup.sh builds it)")
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DBT_VERSION_CHECK": "False"}
    version = subprocess.run([dbt, "--version"], env=env, capture_output=True, text=True, timeout=120)
    if version.returncode != 0:
        raise RuntimeError(f"{dbt} --version failed: {version.stderr.strip() or version.stdout.strip()}")
    core = next((line.split(":")[-1].strip() for line in version.stdout.splitlines() if "installed" in line), "?")
    with tempfile.TemporaryDirectory(prefix="tokyobeta-verify-") as scratch, \
            profile_config(cfg).ensure_profile() as (profile_path, profile_env):
        debug = subprocess.run(
            [dbt, "debug", "--project-dir", str(cfg.dbt_project_path), "--profiles-dir", str(Path(profile_path).parent),
             "--target", "airflow", "--log-path", scratch],
            env={**env, **profile_env}, capture_output=True, text=True, timeout=300)
    if debug.returncode != 0:
        problems = [line.strip() for line in debug.stdout.splitlines() if "ERROR" in line or "FAIL" in line]
        raise RuntimeError(f"dbt debug failed: {' | '.join(problems[-3:]) or debug.stdout.strip()[-300:]}")
    return f"dbt {core} at {dbt}; dbt debug: project, profile and warehouse connection OK"


def aws_connection(cfg: settings.Settings) -> str:
    identity = aws.client("sts", cfg.aws_conn_id).get_caller_identity()
    return f"{cfg.aws_conn_id} resolves: account {identity['Account']}"


def mysql_connection(cfg: settings.Settings) -> str:
    with mysql.connection(cfg.mysql_conn_id) as conn:
        version = mysql.query(conn, "SELECT VERSION()")[0][0]
        wanted = [cfg.schema(name) for name in ("staging", "silver", "gold", "ops")]
        found = {name for (name,) in mysql.query(
            conn, f"SELECT schema_name FROM information_schema.schemata WHERE schema_name IN ({', '.join(['%s'] * len(wanted))})",
            wanted)}
    missing = [name for name in wanted if name not in found]
    if missing:
        raise RuntimeError(f"{cfg.mysql_conn_id} reaches {version} but cannot see schemas {missing}")
    return f"{cfg.mysql_conn_id} reaches MySQL {version}; schemas {', '.join(wanted)} visible"


def dump_bucket(cfg: settings.Settings) -> str:
    aws.s3(cfg.aws_conn_id).head_bucket(Bucket=cfg.dump_bucket)
    return f"s3://{cfg.dump_bucket} reachable"


def alert_topic(cfg: settings.Settings) -> str:
    if not cfg.alert_topic_arn:
        raise RuntimeError("ALERT_TOPIC_ARN is empty: alerts would go nowhere")
    attrs = aws.sns(cfg.aws_conn_id).get_topic_attributes(TopicArn=cfg.alert_topic_arn)["Attributes"]
    return f"{cfg.alert_topic_arn} reachable ({attrs.get('SubscriptionsConfirmed', '?')} confirmed subscriptions)"


def run_all(cfg: settings.Settings, dag_folder: str) -> list[Check]:
    return [
        _timed("dags import", lambda: dags_import(dag_folder)),
        _timed("dbt runs", lambda: dbt_runs(cfg)),
        _timed("aws connection", lambda: aws_connection(cfg)),
        _timed("mysql connection", lambda: mysql_connection(cfg)),
        _timed("dump bucket", lambda: dump_bucket(cfg)),
        _timed("alert topic", lambda: alert_topic(cfg)),
    ]


def report(checks: list[Check]) -> str:
    lines = [f"{'ok' if c.ok else 'FAILED':7} {c.name:17} {c.seconds:5.1f} s  {c.detail}" for c in checks]
    failed = [c.name for c in checks if not c.ok]
    lines.append(f"verify-env: {len(checks) - len(failed)} of {len(checks)} checks ok"
                 + (f"; failed: {', '.join(failed)}" if failed else ""))
    return "\n".join(lines)


def verify_environment(**context: object) -> list[dict]:
    """The task of tokyobeta_verify_env: every check, then fail if any failed."""
    from airflow.configuration import conf

    checks = run_all(settings.for_task(context), conf.get("core", "dags_folder"))
    text = report(checks)
    failed = [c.name for c in checks if not c.ok]
    if failed:
        raise RuntimeError(f"environment check failed ({', '.join(failed)}):\n{text}")
    print(text)
    return [c.__dict__ for c in checks]
