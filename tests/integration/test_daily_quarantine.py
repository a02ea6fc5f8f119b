"""The daily DAG's unhappy first half, end to end (dag.test, MariaDB, moto): a day its
publisher declared invalid is skipped with a notice; a dump that claims valid but fails our
checks (at check_manifest or while loading) is quarantined with evidence. Either way every
downstream task ends skipped and staging is untouched (CHECKSUM TABLE). A manifest that never
arrives fails the sensor with a message naming the key."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from support.db import checksums, count
from tokyobeta.ingest import day as ingest_day

pytestmark = pytest.mark.slow

DAY1 = date(2026, 4, 6)
FIRST_HALF = ("wait_for_manifest", "check_manifest")
BESIDE_THE_CHAIN = {"heartbeat"}  # runs on every day, loaded or not


@pytest.fixture(scope="module")
def baseline(pipeline):
    """Staging holding a good load of DAY1, loaded by the same code path load_staging runs."""
    from tokyobeta.io import mysql

    pipeline.build_source(DAY1, scale=0.02)
    manifest = pipeline.publish(DAY1)
    at = ingest_day.DumpAt.in_bucket(pipeline.cfg, pipeline.s3, DAY1, manifest.dump_key)
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["Body"]
    with mysql.connection(pipeline.cfg.mysql_conn_id) as conn:
        assert ingest_day.load(conn, pipeline.cfg, manifest, body, at, "baseline", None).status == "loaded"
    return checksums(pipeline.admin, pipeline.schemas["staging"])


def rewrite_manifest(pipeline, day: date, **changes) -> dict:
    key = pipeline.cfg.manifest_key(day)
    doc = json.loads(pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read())
    doc.update(changes)
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=json.dumps(doc).encode())
    return doc


def assert_skipped_after(tasks: dict[str, str], last_run: str) -> None:
    ran = list(FIRST_HALF) + (["load_staging"] if last_run == "load_staging" else [])
    assert all(tasks[t] == "success" for t in ran), tasks
    # cosmos' gate after each dbt group's build passes any build that did not fail, a skipped one
    # too (transform/cosmos_groups.py); it runs nothing
    gates = {t: s for t, s in tasks.items() if t.endswith(".dbt_producer_watcher_done")}
    assert len(gates) == 2 and set(gates.values()) <= {"success", "skipped"}, gates
    rest = {t: s for t, s in tasks.items() if t not in ran and t not in BESIDE_THE_CHAIN and t not in gates}
    assert len(rest) > 5 and set(rest.values()) == {"skipped"}, rest


def test_declared_invalid_day_is_skipped_with_a_notice(pipeline, baseline):
    day = DAY1 + timedelta(days=1)
    pipeline.publish(day)
    rewrite_manifest(pipeline, day, valid_for_etl=False, reason_codes=["MANUAL_QUARANTINE"])
    state, tasks = pipeline.run(day)
    assert state == "success"
    assert_skipped_after(tasks, "check_manifest")
    assert checksums(pipeline.admin, pipeline.schemas["staging"]) == baseline
    alerts = pipeline.alerts(wait_seconds=2)
    assert [a["Subject"] for a in alerts] == [
        f"[tokyobeta] SKIPPED dump {day}: declared not valid for ETL (MANUAL_QUARANTINE)"]
    assert pipeline.s3.list_objects_v2(Bucket=pipeline.bucket, Prefix=pipeline.cfg.quarantine_prefix).get("KeyCount") == 0


def test_wrong_source_is_quarantined_at_check_manifest(pipeline, baseline):
    day = DAY1 + timedelta(days=2)
    pipeline.publish(day)
    doc = rewrite_manifest(pipeline, day, source={"host": "replica.example", "database": pipeline.source_db,
                                                  "secret_id": pipeline.secret_id})
    state, tasks = pipeline.run(day)
    assert state == "success"
    assert_skipped_after(tasks, "check_manifest")
    assert checksums(pipeline.admin, pipeline.schemas["staging"]) == baseline
    verdict_key = f"{pipeline.cfg.quarantine_prefix}gghouse_{day:%Y%m%d}.verdict.json"
    verdict = json.loads(pipeline.s3.get_object(Bucket=pipeline.bucket, Key=verdict_key)["Body"].read())
    assert verdict["reasons"] == ["INVALID_SOURCE"] and verdict["dump_sha256"] == doc["dump_sha256"]
    assert [a["Subject"] for a in pipeline.alerts(wait_seconds=2)] == [f"[tokyobeta] QUARANTINED dump {day}: INVALID_SOURCE"]


def test_checksum_mismatch_is_quarantined_while_loading(pipeline, baseline):
    day = DAY1 + timedelta(days=3)
    manifest = pipeline.publish(day)
    data = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["Body"].read()
    at = data.index(b"INSERT INTO `tenants` VALUES") + 100
    tampered = data[:at] + bytes([data[at] ^ 0x20]) + data[at + 1:]  # same size: only the sha can tell
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=manifest.dump_key, Body=tampered)
    state, tasks = pipeline.run(day)
    assert state == "success"
    assert tasks["load_staging"] == "skipped"
    assert_skipped_after({t: s for t, s in tasks.items() if t != "load_staging"}, "check_manifest")
    assert checksums(pipeline.admin, pipeline.schemas["staging"]) == baseline
    ops = pipeline.schemas["ops"]
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{ops}`.load_history WHERE dump_date = %s "
                                 "AND status = 'quarantined'", (day,)) == 1
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{ops}`.manifest_verdicts WHERE dump_date = %s "
                                 "AND status = 'QUARANTINED' AND reasons = 'CHECKSUM_MISMATCH'", (day,)) == 1
    copy_key = f"{pipeline.cfg.quarantine_prefix}gghouse_{day:%Y%m%d}.sql"
    assert pipeline.s3.get_object(Bucket=pipeline.bucket, Key=copy_key)["Body"].read() == tampered
    assert [a["Subject"] for a in pipeline.alerts(wait_seconds=2)] == [
        f"[tokyobeta] QUARANTINED dump {day}: CHECKSUM_MISMATCH"]


def test_manifest_that_never_arrives_fails_the_sensor_naming_the_key(pipeline, baseline, monkeypatch):
    day = DAY1 + timedelta(days=4)
    monkeypatch.setenv("MANIFEST_WAIT_HOURS", str(3 / 3600))
    monkeypatch.setenv("MANIFEST_POKE_SECONDS", "1")
    state, tasks = pipeline.run(day)
    assert state == "failed" and tasks["wait_for_manifest"] == "failed"
    assert {s for t, s in tasks.items() if t not in {"wait_for_manifest", *BESIDE_THE_CHAIN}} == {"upstream_failed"}
    key = f"s3://{pipeline.bucket}/{pipeline.cfg.manifest_key(day)}"
    alerts = {a["Subject"]: a["Message"] for a in pipeline.alerts(wait_seconds=2)}
    task_alert = alerts["[tokyobeta] FAILED tokyobeta_daily_etl.wait_for_manifest"]
    assert f"manifest {key} never arrived within 3 s (MANIFEST_WAIT_HOURS)" in task_alert, alerts
    assert checksums(pipeline.admin, pipeline.schemas["staging"]) == baseline
