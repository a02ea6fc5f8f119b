"""`tokyobeta verify-env` against the local stack: all checks pass on a healthy environment, and
each check fails, naming what is wrong, when its part is broken."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tokyobeta import settings
from tokyobeta.ops import verify

pytestmark = pytest.mark.slow


def test_a_healthy_environment_passes_every_check(fresh_schemas, bundle, repo):
    # The bundle's DAG folder, as MWAA would hold it after a deploy.
    env = {**os.environ, "INCLUDE_DIR": str(bundle / "dags" / "include")}
    out = subprocess.run([sys.executable, "-m", "tokyobeta.cli", "verify-env", "--dags", str(bundle / "dags")],
                         env=env, capture_output=True, text=True, cwd=repo, timeout=300)
    assert out.returncode == 0, out.stdout + out.stderr
    lines = {line.split()[1] + " " + line.split()[2]: line for line in out.stdout.splitlines() if line.startswith(("ok ", "FAILED"))}
    assert set(lines) == {"dags import", "dbt runs", "aws connection", "mysql connection", "dump bucket", "alert topic"}
    assert all(line.startswith("ok ") for line in lines.values()), out.stdout
    assert "tokyobeta_daily_etl" in lines["dags import"] and "dbt 1.7." in lines["dbt runs"]
    assert "verify-env: 6 of 6 checks ok" in out.stdout


def by_name(checks: list[verify.Check]) -> dict[str, verify.Check]:
    return {c.name: c for c in checks}


def test_each_broken_part_fails_its_own_check(fresh_schemas, tmp_path, monkeypatch):
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "broken_dag.py").write_text("from airflow import DAG\nraise ImportError('no module named gghouse_legacy')\n")
    monkeypatch.setenv("ALERT_TOPIC_ARN", f"arn:aws:sns:{os.environ['AWS_DEFAULT_REGION']}:123456789012:no-such-topic")
    monkeypatch.setenv("DBT_EXECUTABLE_PATH", str(tmp_path / "dbt_venv" / "bin" / "dbt"))
    monkeypatch.setenv("DUMP_BUCKET", "tb-no-such-bucket")
    monkeypatch.setenv("SCHEMA_PREFIX", "nowhere_")
    checks = by_name(verify.run_all(settings.from_env(), str(dags)))
    assert not checks["dags import"].ok and "broken_dag.py" in checks["dags import"].detail
    assert "no module named gghouse_legacy" in checks["dags import"].detail
    assert not checks["dbt runs"].ok and "does not exist" in checks["dbt runs"].detail
    assert not checks["alert topic"].ok and "NotFound" in checks["alert topic"].detail
    assert not checks["dump bucket"].ok
    assert not checks["mysql connection"].ok and "nowhere_staging" in checks["mysql connection"].detail
    assert checks["aws connection"].ok
    assert "verify-env: 1 of 6 checks ok; failed:" in verify.report(list(checks.values()))


def test_the_verify_dag_runs_the_same_checks_inside_airflow(fresh_schemas, inbox):
    from airflow.models import DagBag

    dag = DagBag(include_examples=False).dags["tokyobeta_verify_env"]
    run = dag.test()
    assert run.state == "success"
    assert inbox.messages(wait_seconds=0) == []
