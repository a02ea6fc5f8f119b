"""tokyobeta_freshness against a warehouse the real daily DAG built (MariaDB), manifests in moto
S3, the Airflow metadata database, CloudWatch and SNS on moto: fresh, stale, a declared-invalid
newest manifest, an unreachable database and a missing table. Metrics are read back from
CloudWatch; every test publishes to its own namespace."""

from __future__ import annotations

import json
import os
import socket
import uuid
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tokyobeta.ops import freshness, metrics, rundag

pytestmark = pytest.mark.slow

JST = ZoneInfo("Asia/Tokyo")
DAY1 = date(2026, 6, 15)


def check_at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, 0, tzinfo=JST)


@pytest.fixture(scope="module")
def loaded(pipeline):
    pipeline.build_source(DAY1)
    manifest = pipeline.publish(DAY1)
    state, tasks = pipeline.run(DAY1)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    pipeline.alerts()
    return manifest


@pytest.fixture
def namespace(monkeypatch) -> str:
    name = f"TokyoBetaTest/{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("METRICS_NAMESPACE", name)
    return name


@pytest.fixture(scope="module")
def cloudwatch():
    from tokyobeta.io import aws

    return aws.cloudwatch(os.environ.get("AWS_CONN_ID", "aws_default"))


def run_check(day: date) -> tuple[str, dict[str, str]]:
    state, tasks = rundag.run_dag("tokyobeta_freshness", check_at(day))
    return state, dict(tasks)


def published(cloudwatch, namespace: str, at: datetime) -> dict[metrics.MetricKey, float]:
    """Every metric in the namespace with its value at `at` (Maximum over that minute)."""
    out = {}
    for metric in cloudwatch.list_metrics(Namespace=namespace).get("Metrics", []):
        dims = metric.get("Dimensions", [])
        points = cloudwatch.get_metric_statistics(
            Namespace=namespace, MetricName=metric["MetricName"], Dimensions=dims, StartTime=at,
            EndTime=at + timedelta(minutes=1), Period=60, Statistics=["Maximum"])["Datapoints"]
        key = (metric["MetricName"], tuple((d["Name"], d["Value"]) for d in dims))
        out[key] = points[0]["Maximum"] if points else None
    return out


def table_key(name: str) -> metrics.MetricKey:
    return metrics.STALENESS_DAYS, (("Table", name),)


def heartbeat_key() -> metrics.MetricKey:
    return metrics.heartbeat("tokyobeta_freshness").key


def kinds(messages: list[dict]) -> list[str]:
    return sorted(m["MessageAttributes"]["kind"]["Value"] for m in messages)


def test_fresh_warehouse_publishes_every_metric_and_no_alert(pipeline, loaded, namespace, cloudwatch):
    state, tasks = run_check(DAY1)
    assert (state, tasks) == ("success", {"check_freshness": "success", "heartbeat": "success"})
    assert pipeline.alerts() == []
    values = published(cloudwatch, namespace, check_at(DAY1))
    assert set(values) == freshness.metric_keys() | {heartbeat_key()}
    expected = {key: 0.375 for key in freshness.metric_keys() if key[0] == metrics.STALENESS_DAYS}
    expected[(metrics.UPSTREAM_AGE_HOURS, ())] = 9.0        # dump day 00:00 -> 09:00
    expected[(metrics.HOURS_SINCE_LAST_SUCCESS, ())] = 7.0  # 02:00 slot -> 09:00
    assert {k: v for k, v in values.items() if k != heartbeat_key()} == expected


def test_stale_warehouse_sends_one_alert_listing_every_breach(pipeline, loaded, namespace, cloudwatch):
    day = DAY1 + timedelta(days=3)
    state, _ = run_check(day)
    assert state == "success", "breaches are reported, not failed"
    (alert,) = pipeline.alerts()
    assert alert["Subject"] == f"[tokyobeta] STALE: 16 freshness breaches as of {day} 09:00 JST"
    assert {k: v["Value"] for k, v in alert["MessageAttributes"].items()} == \
        {"severity": "ERROR", "dag_id": "tokyobeta_freshness", "kind": "freshness"}
    breaches = alert["Message"].split("Breaches:\n", 1)[1].split("\n\nWithin limits:", 1)[0].splitlines()
    assert sorted(line.split()[0] for line in breaches) == sorted(
        [c.name for c in freshness.TABLE_CHECKS] + ["upstream", "daily"])
    assert all("3.38 days (limit 2)" in line for line in breaches if line.split()[0].count(".") == 1)
    assert any(line.split()[0] == "staging.tenants" and f"holds {DAY1}; newest change" in line for line in breaches)
    values = published(cloudwatch, namespace, check_at(day))
    assert values[table_key("gold.occupancy_daily_metrics")] == 3.375
    assert values[(metrics.UPSTREAM_AGE_HOURS, ())] == 81.0
    assert values[(metrics.HOURS_SINCE_LAST_SUCCESS, ())] == 79.0


def test_a_newest_manifest_declared_invalid_is_skipped(pipeline, loaded, namespace, cloudwatch):
    day = DAY1 + timedelta(days=1)
    key = f"{pipeline.cfg.manifest_prefix}gghouse_{day:%Y%m%d}.json"
    doc = json.loads(loaded.to_json()) | {"dump_date": day.isoformat(), "valid_for_etl": False,
                                          "dump_key": f"dumps/gghouse_{day:%Y%m%d}.sql"}
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=json.dumps(doc))
    try:
        assert run_check(day)[0] == "success"
    finally:
        pipeline.s3.delete_object(Bucket=pipeline.bucket, Key=key)
    (alert,) = pipeline.alerts()
    assert alert["Subject"] == f"[tokyobeta] STALE: 2 freshness breaches as of {day} 09:00 JST"
    upstream = next(line for line in alert["Message"].splitlines() if line.strip().startswith("upstream"))
    assert f"33.00 hours (limit 30): newest valid manifest is for {DAY1}; newer manifests skipped: " \
           f"{key}: valid_for_etl is false" in upstream
    assert published(cloudwatch, namespace, check_at(day))[table_key("staging.rooms")] == 1.375


def test_unreachable_database_fails_the_check_and_publishes_no_freshness_metric(
        pipeline, loaded, namespace, cloudwatch, monkeypatch):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("AIRFLOW_CONN_TOKYOBETA_MYSQL", json.dumps({
        "conn_type": "mysql", "host": "127.0.0.1", "port": closed_port, "login": "tokyobeta", "password": "x"}))
    day = DAY1 + timedelta(days=4)
    state, tasks = run_check(day)
    assert (state, tasks) == ("failed", {"check_freshness": "failed", "heartbeat": "success"})
    messages = pipeline.alerts()
    assert kinds(messages) == ["dag_failure", "task_failure"]
    failure = next(m for m in messages if m["MessageAttributes"]["kind"]["Value"] == "task_failure")
    assert failure["Subject"] == "[tokyobeta] FAILED tokyobeta_freshness.check_freshness"
    assert "FreshnessCheckError: could not read the warehouse through connection 'tokyobeta_mysql'" in failure["Message"]
    assert set(published(cloudwatch, namespace, check_at(day))) == {heartbeat_key()}


def test_a_missing_table_fails_the_check_rather_than_skipping_it(pipeline, loaded, namespace, cloudwatch):
    gold = pipeline.schemas["gold"]
    with pipeline.admin.cursor() as cur:
        cur.execute(f"RENAME TABLE `{gold}`.`occupancy_by_apartment` TO `{gold}`.`occupancy_by_apartment__away`")
    try:
        day = DAY1 + timedelta(days=2)
        state, tasks = run_check(day)
    finally:
        with pipeline.admin.cursor() as cur:
            cur.execute(f"RENAME TABLE `{gold}`.`occupancy_by_apartment__away` TO `{gold}`.`occupancy_by_apartment`")
    assert tasks["check_freshness"] == "failed"
    failure = next(m for m in pipeline.alerts() if m["MessageAttributes"]["kind"]["Value"] == "task_failure")
    assert "occupancy_by_apartment' doesn't exist" in failure["Message"]
    assert set(published(cloudwatch, namespace, check_at(day))) == {heartbeat_key()}
