"""Shared fixtures. Tests run against the real local stack that `make bootstrap` starts:
MariaDB, the moto server (over HTTP, through boto3 and the Airflow connection) and the
Airflow metadata database. Every MySQL schema a test touches carries SCHEMA_PREFIX=test_, so
`make test` never disturbs what `make demo` built."""

from __future__ import annotations

import os
import sys
import uuid
from pathlib import Path

import pytest

os.environ.setdefault("SCHEMA_PREFIX", "test_")
if not os.environ["SCHEMA_PREFIX"]:
    raise RuntimeError("tests must not run on the unprefixed (demo/production) schemas: run them with `make test`")
# `make test-py312` names its Python: a lane that quietly ran on another one would prove nothing.
_LANE = os.environ.get("TOKYOBETA_PYTHON_LANE")
if _LANE and f"{sys.version_info.major}.{sys.version_info.minor}" != _LANE:
    raise RuntimeError(f"TOKYOBETA_PYTHON_LANE={_LANE} but pytest runs on Python {sys.version.split()[0]} "
                       f"({sys.executable}): run the lane with `make test-py312`")

REPO = Path(__file__).resolve().parents[1]

# Proof 1 of the execution role (tests/support/awscalls.py): every AWS call made on behalf of
# MWAA code is checked against deploy/execution-role.yaml.
from support import awscalls  # noqa: E402

awscalls.install()
AWS_CALLS_SUMMARY = REPO / "test-artifacts" / "aws-calls.json"


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item):
    # from the first fixture on (module fixtures run the DAGs), calls belong to this test
    awscalls.RECORDER.test = item.nodeid
    yield


@pytest.fixture(autouse=True)
def _aws_calls_within_the_execution_role(request):
    yield
    denied = awscalls.RECORDER.violations(request.node.nodeid)
    for call in denied:
        call.reported = True
    if denied:
        pytest.fail(f"{len(denied)} AWS call(s) made for MWAA code are not allowed by "
                    "deploy/execution-role.yaml:\n" + "\n".join(c.describe() for c in denied[:20]), pytrace=False)


def pytest_sessionfinish(session, exitstatus):
    recorder = awscalls.RECORDER
    if not recorder.calls:
        return
    recorder.write_summary(AWS_CALLS_SUMMARY)
    # calls after a test's own check (a module fixture's teardown) fail the session instead
    late = [c for c in recorder.violations() if not c.reported]
    if late:
        print("\nAWS calls not allowed by deploy/execution-role.yaml:\n" + "\n".join(c.describe() for c in late))
        session.exitstatus = 1



def _require_env(name: str) -> str:
    value = os.environ.get(name)
    if value is None:
        pytest.exit(f"{name} is not set: run the tests with `make test` (it loads config/local.env)", returncode=2)
    return value


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def cfg():
    from tokyobeta import settings

    return settings.from_env()


@pytest.fixture(scope="session")
def schemas(cfg) -> dict[str, str]:
    return cfg.schemas()


@pytest.fixture
def mysql_conn(cfg):
    from tokyobeta.io import mysql

    conn = mysql.connect(cfg.mysql_conn_id)
    yield conn
    conn.close()


@pytest.fixture
def admin_conn():
    from tokyobeta.io import mysql

    conn = mysql.connect(params={
        "host": _require_env("MYSQL_HOST"), "port": int(_require_env("MYSQL_PORT")),
        "user": _require_env("MYSQL_ADMIN_USER"), "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    yield conn
    conn.close()


@pytest.fixture
def fresh_schemas(admin_conn, schemas):
    """Empty test_ schemas for the pipeline's layers."""
    with admin_conn.cursor() as cur:
        for name in ("staging", "staging_backup", "silver", "gold", "silver_candidate", "gold_candidate", "ops"):
            cur.execute(f"DROP DATABASE IF EXISTS `{schemas[name]}`")
            cur.execute(f"CREATE DATABASE `{schemas[name]}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    return schemas


def _client(service: str):
    from tokyobeta.io import aws

    return aws.client(service, os.environ.get("AWS_CONN_ID", "aws_default"))


@pytest.fixture(scope="session")
def s3():
    return _client("s3")


@pytest.fixture(scope="session")
def sns():
    return _client("sns")


@pytest.fixture(scope="session")
def sqs():
    return _client("sqs")


@pytest.fixture(scope="session")
def secretsmanager():
    return _client("secretsmanager")


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bucket(s3, monkeypatch) -> str:
    """A new bucket per test, made the pipeline's DUMP_BUCKET."""
    from tokyobeta.ops import localstack

    name = unique("tb-test")
    localstack.ensure_bucket(s3, name, os.environ["AWS_DEFAULT_REGION"])
    monkeypatch.setenv("DUMP_BUCKET", name)
    return name


class Inbox:
    """An SNS topic with its own SQS queue: every alert a test causes, and nothing else."""

    def __init__(self, sqs, topic_arn: str, queue_url: str):
        self.sqs, self.topic_arn, self.queue_url = sqs, topic_arn, queue_url

    def messages(self, wait_seconds: int = 1) -> list[dict]:
        from tokyobeta.ops import localstack

        return localstack.drain(self.sqs, self.queue_url, wait_seconds=wait_seconds)


@pytest.fixture
def inbox(sns, sqs, monkeypatch) -> Inbox:
    from tokyobeta.ops import localstack

    name = unique("tb-alerts")
    topic_arn, queue_url = localstack.ensure_alert_inbox(sns, sqs, name, name)
    monkeypatch.setenv("ALERT_TOPIC_ARN", topic_arn)
    return Inbox(sqs, topic_arn, queue_url)
