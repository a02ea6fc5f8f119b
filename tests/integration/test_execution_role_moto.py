"""Proof 2 of the execution role: the pipeline runs with only deploy/execution-role.yaml's
policy on a moto server with IAM enforcement on (its own server on a free port, started and
stopped here; tests/support/iam_moto.py), and fails where it should when a statement is gone.

The pipeline (the real DAGs through dag.test, MariaDB, Airflow's aws_default connection) runs
as a user holding only the policy; the test's own setup and reads run as an admin user. With the
whole policy: the publisher, the daily DAG end to end (archive and its tags included), the
freshness DAG and a quarantine succeed. Then one statement at a time is removed and the run
fails at the step that needs it with AccessDenied, and the failure reaches the alert path.

moto 5.0.11 checks S3 actions on their bucket/object ARNs but every other service's action on
resource "*" only and ignores conditions, so the policy given to moto is its moto view
(iam_moto.moto_view: non-S3 resources widened to "*", conditions dropped, moto's names for HEAD
requests and CloudWatch's signing name). That the topic, the secret, the namespace and the model
are the right ones is proof 1's part (tests/support/awscalls.py checks every call's resource and
condition against the real policy); so is tagging inside a copy request, which moto does not
authorise separately.
"""

from __future__ import annotations

import json
import logging
import os
import re
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from support import awscalls
from support.iam_moto import ADMIN_POLICY, IamMoto, moto_view, policy_document, without
from support.pipeline import Pipeline
from tokyobeta.ops import rundag

pytestmark = pytest.mark.slow

DAY1 = date(2026, 8, 3)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY1 + timedelta(days=2)
JST = ZoneInfo("Asia/Tokyo")
PIPELINE_USER = "tokyobeta-mwaa"
# moto answers a JSON-protocol service's denial with its XML AccessDenied body, which botocore
# reports as code 403 (AWS says AccessDeniedException); the message names the denied action.
SECRET_DENIED = "is not authorized to perform: secretsmanager:GetSecretValue"
LOG = Path(__file__).resolve().parents[2] / "test-artifacts" / "iam-moto" / "moto.log"


class Stack:
    def __init__(self, server: IamMoto, pipeline: Pipeline, statements: list[dict]):
        self.server, self.pipeline, self.statements = server, pipeline, statements

    def without(self, *sids: str):
        return without(self.server, PIPELINE_USER, self.statements, *sids)

    def alerts(self) -> list[dict]:
        return self.pipeline.alerts(wait_seconds=2)

    def tags(self, key: str) -> dict[str, str]:
        return {t["Key"]: t["Value"]
                for t in self.pipeline.s3.get_object_tagging(Bucket=self.pipeline.bucket, Key=key)["TagSet"]}

    def manifest(self, day: date) -> dict:
        key = self.pipeline.cfg.manifest_key(day)
        return json.loads(self.pipeline.s3.get_object(Bucket=self.pipeline.bucket, Key=key)["Body"].read())


@pytest.fixture(scope="module")
def stack():
    from tokyobeta.io import mysql

    region, account = os.environ["AWS_DEFAULT_REGION"], os.environ.get("AWS_ACCOUNT_ID", "123456789012")
    server = IamMoto(LOG, region)
    mp = pytest.MonkeyPatch()
    admin_db = mysql.connect(params={
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
        "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    try:
        server.create_user("admin", ADMIN_POLICY)
        pipeline = Pipeline(mp, admin_db, *(server.client(s, "admin") for s in ("s3", "sns", "sqs", "secretsmanager")))
        # the policy rendered with the names the pipeline now has, as moto sees it
        statements = moto_view(awscalls.current_policy(region, account))
        server.create_user(PIPELINE_USER, policy_document(statements))
        server.enforce()
        # Nothing may reach the shared server: the connection and any default client point here.
        mp.setenv("AIRFLOW_CONN_AWS_DEFAULT", server.airflow_connection(PIPELINE_USER))
        for name in ("AWS_ENDPOINT_URL", "MOTO_ENDPOINT"):
            mp.setenv(name, server.url)
        yield Stack(server, pipeline, statements)
    finally:
        mp.undo()
        admin_db.close()
        server.stop()


def run_archive_only(day: date, strict: bool) -> tuple[str, dict[str, str]]:
    dag = rundag.load_dag("tokyobeta_daily_etl")
    others = "|".join(re.escape(t) for t in dag.task_ids if t != "archive_dump")
    state, tasks = rundag.run_day("tokyobeta_daily_etl", day, {"daily_fail_on_archive_error": strict},
                                  mark_success_pattern=others)
    return state, dict(tasks)


def by_kind(messages: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for m in messages:
        out.setdefault(m["MessageAttributes"]["kind"]["Value"], []).append(m)
    return out


def test_enforcement_is_on_and_the_policy_is_all_the_pipeline_user_has(stack):
    from botocore.exceptions import ClientError

    s3 = stack.server.client("s3", PIPELINE_USER)
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.list_buckets()
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.put_object(Bucket=stack.pipeline.bucket, Key="releases/x/plugins.zip", Body=b"")  # deploy's, not MWAA's
    s3.put_object(Bucket=stack.pipeline.bucket, Key="dumps-manifest/probe.json", Body=b"{}")
    with pytest.raises(ClientError, match="AccessDenied"):
        s3.delete_object(Bucket=stack.pipeline.bucket, Key="dumps-manifest/probe.json")  # evidence is never deleted
    stack.pipeline.s3.delete_object(Bucket=stack.pipeline.bucket, Key="dumps-manifest/probe.json")
    with pytest.raises(ClientError):
        stack.server.client("s3").list_buckets()  # unsigned by a known user


@pytest.fixture(scope="module")
def day1(stack):
    """DAY1 published by gghouse_dump_publish and loaded by tokyobeta_daily_etl, as the pipeline user."""
    stack.pipeline.build_source(DAY1)
    published = rundag.run_day("gghouse_dump_publish", DAY1)
    daily = rundag.run_day("tokyobeta_daily_etl", DAY1)
    return {"published": published, "daily": daily, "alerts": stack.alerts()}


def test_the_publisher_runs_with_only_the_policy(stack, day1):
    state, tasks = day1["published"]
    assert state == "success" and dict(tasks) == {"heartbeat": "success", "publish_dump": "success"}
    manifest = stack.manifest(DAY1)
    assert manifest["valid_for_etl"] is True and manifest["source_valid"] is True


def test_the_daily_dag_runs_end_to_end_and_archives_with_tags(stack, day1):
    state, tasks = day1["daily"]
    failed = {t: s for t, s in tasks if s != "success"}
    assert state == "success" and len(tasks) > 10 and failed == {}
    tags = stack.tags(f"{stack.pipeline.cfg.archive_prefix}gghouse_{DAY1:%Y%m%d}.sql")
    assert tags["processed"] == "true" and tags["sha256"] == stack.manifest(DAY1)["dump_sha256"]
    assert day1["alerts"] == []


def test_the_freshness_dag_runs_and_publishes_its_metrics(stack, day1):
    state, tasks = rundag.run_dag("tokyobeta_freshness", datetime(DAY1.year, DAY1.month, DAY1.day, 9, 0, tzinfo=JST))
    assert state == "success" and dict(tasks) == {"heartbeat": "success", "check_freshness": "success"}
    cloudwatch = stack.server.client("cloudwatch", "admin")
    names = {m["MetricName"] for m in cloudwatch.list_metrics(Namespace=stack.pipeline.cfg.metrics_namespace)["Metrics"]}
    assert {"Heartbeat", "StalenessDays", "UpstreamAgeHours", "HoursSinceLastSuccess"} <= names
    assert stack.alerts() == []  # fresh: nothing to say


def quarantine_day2(stack) -> tuple[str, dict[str, str]]:
    """DAY2 published, its manifest then naming another source host: check_manifest quarantines it."""
    stack.pipeline.build_source(DAY2)
    assert rundag.run_day("gghouse_dump_publish", DAY2, {"replace": True})[0] == "success"
    doc = stack.manifest(DAY2)
    doc["source"]["host"] = "replica.example"
    stack.pipeline.s3.put_object(Bucket=stack.pipeline.bucket, Key=stack.pipeline.cfg.manifest_key(DAY2),
                                 Body=json.dumps(doc).encode())
    state, tasks = rundag.run_day("tokyobeta_daily_etl", DAY2)
    return state, dict(tasks)


def test_a_quarantine_keeps_tagged_evidence_and_alerts(stack, day1):
    state, tasks = quarantine_day2(stack)
    assert state == "success" and tasks["check_manifest"] == "success" and tasks["load_staging"] == "skipped"
    prefix = stack.pipeline.cfg.quarantine_prefix
    for key in (f"gghouse_{DAY2:%Y%m%d}.sql", f"gghouse_{DAY2:%Y%m%d}.manifest.json", f"gghouse_{DAY2:%Y%m%d}.verdict.json"):
        assert stack.tags(prefix + key)["valid_for_etl"] == "false", key
    assert [a["Subject"] for a in stack.alerts()] == [f"[tokyobeta] QUARANTINED dump {DAY2}: INVALID_SOURCE"]


# --- one statement removed at a time ---------------------------------------------------------------

@pytest.fixture
def day1_unarchived(stack, day1):
    key = f"{stack.pipeline.cfg.archive_prefix}gghouse_{DAY1:%Y%m%d}.sql"
    stack.pipeline.s3.delete_object(Bucket=stack.pipeline.bucket, Key=key)
    stack.alerts()
    return key


def test_without_archive_tagging_a_strict_archive_fails_with_access_denied_and_alerts(stack, day1_unarchived):
    with stack.without("TagArchivedDumps"):
        state, tasks = run_archive_only(DAY1, strict=True)
    assert state == "failed" and tasks["archive_dump"] == "failed"
    alerts = by_kind(stack.alerts())
    assert sorted(alerts) == ["dag_failure", "task_failure"]
    (failure,) = alerts["task_failure"]
    assert failure["Subject"] == "[tokyobeta] FAILED tokyobeta_daily_etl.archive_dump"
    assert "(AccessDenied) when calling the GetObjectTagging operation" in failure["Message"]
    keys = stack.pipeline.s3.list_objects_v2(Bucket=stack.pipeline.bucket, Prefix=day1_unarchived).get("KeyCount")
    assert keys == 0, "no untagged copy is left behind"
    # and with the statement back, the same run archives
    assert run_archive_only(DAY1, strict=True)[0] == "success"
    assert stack.tags(day1_unarchived)["processed"] == "true"


def test_without_archive_tagging_a_fail_open_archive_still_warns(stack, day1_unarchived):
    with stack.without("TagArchivedDumps"):
        state, tasks = run_archive_only(DAY1, strict=False)
    assert state == "success" and tasks["archive_dump"] == "success"  # fail-open: the data is loaded
    (warning,) = stack.alerts()
    assert warning["MessageAttributes"]["kind"]["Value"] == "archive_warning"
    assert warning["Subject"] == f"[tokyobeta] archive of dump {DAY1} failed (run continues)"
    assert "(AccessDenied) when calling the GetObjectTagging operation" in warning["Message"]


def test_without_sns_publish_the_failure_is_still_visible_and_the_denied_alert_is_logged(stack, day1, caplog):
    """A quarantine whose notice cannot be sent fails check_manifest (the evidence is kept);
    the failure alert is then denied too, and Airflow logs the denied callback."""
    caplog.set_level(logging.INFO)
    with stack.without("PublishAlerts"):
        state, tasks = rundag.run_day("tokyobeta_daily_etl", DAY2)
    assert state == "failed" and dict(tasks)["check_manifest"] == "failed"
    assert stack.alerts() == []
    denied = [r for r in caplog.records if r.exc_info and "callback" in r.getMessage()
              and "AccessDenied" in str(r.exc_info[1]) and "Publish" in str(r.exc_info[1])]
    assert denied, "the denied alert attempt must be logged"
    verdict = f"{stack.pipeline.cfg.quarantine_prefix}gghouse_{DAY2:%Y%m%d}.verdict.json"
    assert stack.tags(verdict)["valid_for_etl"] == "false"


def test_without_get_secret_value_the_publisher_fails_writes_an_invalid_manifest_and_alerts(stack, day1):
    """ReadAirflowConnections goes too: moto checks GetSecretValue on resource "*" only, so the
    secrets backend's statement (airflow/connections/* in AWS) would grant the source secret as
    well. That it does not in AWS is proof 1's (tests/unit/test_execution_role.py: a secret
    outside the connections prefix is denied)."""
    with stack.without("ReadSourceSecret", "ReadAirflowConnections"):
        state, tasks = rundag.run_day("gghouse_dump_publish", DAY3)
    assert state == "failed" and dict(tasks)["publish_dump"] == "failed"
    manifest = stack.manifest(DAY3)
    assert manifest["valid_for_etl"] is False and manifest["reason_codes"] == ["PUBLISH_FAILED"]
    assert "AccessDenied" in manifest["detail"] and "GetSecretValue" in manifest["detail"]
    alerts = by_kind(stack.alerts())
    (failure,) = alerts["task_failure"]
    assert failure["Subject"] == "[tokyobeta] FAILED gghouse_dump_publish.publish_dump"
    assert SECRET_DENIED in failure["Message"]


def test_without_get_secret_value_the_daily_gate_fails_at_check_manifest(stack, day1):
    """ReadAirflowConnections goes too: moto checks GetSecretValue on resource "*" only, so the
    secrets backend's statement (airflow/connections/* in AWS) would grant the source secret as
    well. That it does not in AWS is proof 1's (tests/unit/test_execution_role.py: a secret
    outside the connections prefix is denied)."""
    with stack.without("ReadSourceSecret", "ReadAirflowConnections"):
        state, tasks = rundag.run_day("tokyobeta_daily_etl", DAY1)
    tasks = dict(tasks)
    assert state == "failed" and tasks["wait_for_manifest"] == "success" and tasks["check_manifest"] == "failed"
    (failure,) = by_kind(stack.alerts())["task_failure"]
    assert failure["Subject"] == "[tokyobeta] FAILED tokyobeta_daily_etl.check_manifest"
    assert SECRET_DENIED in failure["Message"]


def test_without_the_metrics_statements_freshness_fails_and_alerts(stack, day1):
    """Both PutMetricData statements go: moto drops their namespace conditions, so MWAA's own
    (namespace AmazonMWAA) would otherwise grant the pipeline's namespace too. That it does not
    in AWS is proof 1's (tests/unit/test_execution_role.py: another namespace is denied)."""
    with stack.without("PutPipelineMetrics", "MwaaAirflowMetrics"):
        state, tasks = rundag.run_dag("tokyobeta_freshness", datetime(DAY1.year, DAY1.month, DAY1.day, 9, 0, tzinfo=JST))
    assert state == "failed" and dict(tasks) == {"heartbeat": "failed", "check_freshness": "failed"}
    failures = by_kind(stack.alerts())["task_failure"]
    assert len(failures) == 2 and all("(AccessDenied) when calling the PutMetricData operation" in f["Message"]
                                      for f in failures)
