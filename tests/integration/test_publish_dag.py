"""gghouse_dump_publish end to end (the real DAG through dag.test, MariaDB, moto): it publishes a
loadable day; with PUBLISH_FROZEN it ends skipped with an SNS notice and writes nothing; and a
day quarantined by hand (`tokyobeta quarantine-day`) is skipped by tokyobeta_daily_etl with
the operator's reason in the notice, the dump kept."""

from __future__ import annotations

import json
import os
from datetime import date, timedelta

import pytest

from tokyobeta.ingest import day as ingest_day
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ops import publish, rundag

pytestmark = pytest.mark.slow

DAY1 = date(2026, 5, 11)


@pytest.fixture(scope="module")
def source(pipeline):
    pipeline.build_source(DAY1, scale=0.02)
    return pipeline


def manifest_doc(pipeline, day: date) -> dict | None:
    try:
        body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=pipeline.cfg.manifest_key(day))["Body"].read()
    except pipeline.s3.exceptions.NoSuchKey:
        return None
    return json.loads(body)


def test_the_dag_publishes_a_loadable_day(source):
    pipeline = source
    state, tasks = rundag.run_day("gghouse_dump_publish", DAY1, {"gzip": True})
    assert state == "success" and dict(tasks) == {"heartbeat": "success", "publish_dump": "success"}
    verdict, at = ingest_day.judge_in_bucket(pipeline.cfg, pipeline.s3, pipeline.secrets, DAY1)
    assert verdict.loadable, verdict.detail
    assert at.dump == f"{pipeline.cfg.dumps_prefix}gghouse_{DAY1:%Y%m%d}.sql.gz"
    assert sum(verdict.manifest.table_row_counts.values()) > 0
    # a second scheduled run of the same day refuses to replace the valid pair (and says how)
    state, tasks = rundag.run_day("gghouse_dump_publish", DAY1, {"gzip": True})
    assert state == "failed" and dict(tasks)["publish_dump"] == "failed"
    assert manifest_mod.parse(json.dumps(manifest_doc(pipeline, DAY1))) == verdict.manifest
    alerts = {a["Subject"]: a["Message"] for a in pipeline.alerts(wait_seconds=2)}
    assert any("--replace" in message for message in alerts.values()), alerts


def test_frozen_publishing_skips_with_a_notice_and_writes_nothing(source, monkeypatch):
    pipeline = source
    day = DAY1 + timedelta(days=1)
    monkeypatch.setenv("PUBLISH_FROZEN", "true")
    state, tasks = rundag.run_day("gghouse_dump_publish", day)
    assert state == "success" and dict(tasks) == {"heartbeat": "success", "publish_dump": "skipped"}
    assert manifest_doc(pipeline, day) is None
    assert pipeline.s3.list_objects_v2(Bucket=pipeline.bucket, Prefix=pipeline.cfg.dump_key(day)).get("KeyCount") == 0
    alerts = pipeline.alerts(wait_seconds=2)
    assert [a["Subject"] for a in alerts] == [f"[tokyobeta] publishing frozen: dump of {day} not published"]
    assert "PUBLISH_FROZEN" in alerts[0]["Message"] and "to unfreeze" in alerts[0]["Message"]


def test_a_day_quarantined_by_hand_is_skipped_by_the_daily_dag(source):
    pipeline = source
    day = DAY1 + timedelta(days=2)
    good = pipeline.publish(day)
    reason = "source restored from a stale replica (INC-0211)"
    quarantined = publish.quarantine_day(pipeline.dump_bucket, day, reason, pipeline.secret_id)
    assert (quarantined.dump_key, quarantined.dump_sha256) == (good.dump_key, good.dump_sha256)
    state, tasks = pipeline.run(day)
    assert state == "success"
    assert tasks["wait_for_manifest"] == tasks["check_manifest"] == "success"
    rest = {t: s for t, s in tasks.items() if t not in {"wait_for_manifest", "check_manifest", "heartbeat"}}
    assert len(rest) > 5 and set(rest.values()) == {"skipped"}, rest
    alerts = pipeline.alerts(wait_seconds=2)
    assert [a["Subject"] for a in alerts] == [
        f"[tokyobeta] SKIPPED dump {day}: declared not valid for ETL (MANUAL_QUARANTINE)"]
    assert reason in alerts[0]["Message"]
    # the evidence stays where it was
    head = pipeline.s3.head_object(Bucket=pipeline.bucket, Key=good.dump_key)
    assert head["ContentLength"] == good.dump_bytes
    assert os.environ["DUMP_BUCKET"] == pipeline.bucket
