"""A dump day's verdict, quarantine and load against moto (S3, SNS through an SQS-subscribed
topic, Secrets Manager) and MariaDB: every way a day can be unfit ends with the evidence kept
in dumps-quarantine/ (tags and verdict JSON), the verdict in ops, an alert in the inbox, and
staging untouched."""

from __future__ import annotations

import io
import json
from datetime import timedelta

import pytest

from conftest import unique
from support.db import checksums, count
from support.dumps import DAY, gzipped, manifest_for, upload_pair
from tokyobeta import settings
from tokyobeta.ingest import day as ingest_day
from tokyobeta.ingest import operator, provenance
from tokyobeta.ingest.manifest import Status
from tokyobeta.ops import localstack

SOURCE = {"host": "db.example", "database": "gghouse"}


@pytest.fixture
def source_secret(secretsmanager, monkeypatch) -> str:
    secret_id = unique("tokyobeta/test/source")
    localstack.ensure_secret(secretsmanager, secret_id, {"host": SOURCE["host"], "dbname": SOURCE["database"],
                                                         "port": 3306, "username": "u", "password": "p"})
    monkeypatch.setenv("SOURCE_SECRET_ID", secret_id)
    return secret_id


@pytest.fixture
def env(bucket, inbox, source_secret, fresh_schemas, mysql_conn):
    """Everything a day needs: bucket, alert inbox, the trusted source's secret, empty schemas."""
    class Env:
        cfg = settings.Settings()
    Env.bucket, Env.inbox, Env.schemas, Env.conn = bucket, inbox, fresh_schemas, mysql_conn
    return Env


def tags(s3, bucket: str, key: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def judge_and_quarantine(env, s3, secretsmanager, day=DAY):
    verdict, at = ingest_day.judge_in_bucket(env.cfg, s3, secretsmanager, day)
    evidence = None
    if not verdict.loadable:
        evidence = ingest_day.quarantine(env.conn, env.cfg, verdict, at, "test-run", operator._notifier("test-run"))
    return verdict, at, evidence


def one_alert(env) -> dict:
    messages = env.inbox.messages(wait_seconds=2)
    assert len(messages) == 1, [m.get("Subject") for m in messages]
    return messages[0]


def test_wrong_source_is_quarantined_with_evidence_verdict_ops_row_and_alert(env, s3, secretsmanager, sample_dump):
    manifest = manifest_for(sample_dump.data, DAY, sample_dump.counts, host="db.example", database="gghouse_copy")
    upload_pair(s3, env.bucket, sample_dump.data, manifest)
    verdict, at, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert verdict.status is Status.QUARANTINED and verdict.reasons == ("INVALID_SOURCE",)
    assert "db.example/gghouse_copy is not the expected db.example/gghouse" in verdict.detail
    # evidence: the dump and manifest copied (the originals stay), tagged, and the verdict beside them
    assert evidence == {"dump_copy": "dumps-quarantine/gghouse_20260302.sql",
                        "manifest_copy": "dumps-quarantine/gghouse_20260302.manifest.json",
                        "verdict": "dumps-quarantine/gghouse_20260302.verdict.json"}
    copy = s3.get_object(Bucket=env.bucket, Key=evidence["dump_copy"])["Body"].read()
    assert copy == sample_dump.data == s3.get_object(Bucket=env.bucket, Key=manifest.dump_key)["Body"].read()
    for key in evidence.values():
        assert tags(s3, env.bucket, key) == {"valid_for_etl": "false", "reason": "INVALID_SOURCE", "dump_date": "2026-03-02"}
    body = json.loads(s3.get_object(Bucket=env.bucket, Key=evidence["verdict"])["Body"].read())
    assert body["status"] == "QUARANTINED" and body["reasons"] == ["INVALID_SOURCE"]
    assert body["dump_sha256"] == manifest.dump_sha256 and body["run_id"] == "test-run"
    # the verdict in ops
    ops = env.schemas["ops"]
    assert count(env.conn, f"SELECT COUNT(*) FROM `{ops}`.manifest_verdicts WHERE dump_date = %s AND status = "
                           "'QUARANTINED' AND reasons = 'INVALID_SOURCE' AND run_id = 'test-run'", (DAY,)) == 1
    # the alert, through SNS into the subscribed queue
    alert = one_alert(env)
    assert alert["Subject"] == "[tokyobeta] QUARANTINED dump 2026-03-02: INVALID_SOURCE"
    assert alert["MessageAttributes"]["severity"]["Value"] == "ERROR"
    assert "gghouse_copy" in alert["Message"] and evidence["verdict"] in alert["Message"]


@pytest.mark.parametrize("body, field", [
    (b"{not json", "(document)"),
    (lambda m: m.replace('"dump_sha256"', '"sha"'), "dump_sha256"),
    (lambda m: m.replace('"manifest_version": 1', '"manifest_version": 2'), "manifest_version"),
    (lambda m: m.replace('"tenants": ', '"tenant": '), "table_row_counts.tenants"),
])
def test_malformed_manifests_are_quarantined_naming_the_field(env, s3, secretsmanager, sample_dump, body, field):
    manifest = manifest_for(sample_dump.data, DAY, sample_dump.counts, **SOURCE)
    raw = body if isinstance(body, bytes) else body(manifest.to_json()).encode()
    upload_pair(s3, env.bucket, sample_dump.data, manifest, manifest_body=raw)
    verdict, _, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert verdict.reasons == ("MANIFEST_INVALID",) and f"manifest field '{field}'" in verdict.detail
    assert s3.get_object(Bucket=env.bucket, Key=evidence["manifest_copy"])["Body"].read() == raw
    assert evidence["dump_copy"] is not None
    assert "MANIFEST_INVALID" in one_alert(env)["Subject"]


def test_invalid_manifest_of_a_gzip_dump_keeps_the_gzip(env, s3, secretsmanager, sample_dump):
    packed = gzipped(sample_dump.data)
    manifest = manifest_for(packed, DAY, sample_dump.counts, gzip=True, **SOURCE)
    upload_pair(s3, env.bucket, packed, manifest, manifest_body=b"[]")
    _, at, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert at.dump.endswith(".sql.gz") and evidence["dump_copy"] == "dumps-quarantine/gghouse_20260302.sql.gz"


def test_manifest_without_dump(env, s3, secretsmanager, sample_dump):
    manifest = manifest_for(sample_dump.data, DAY, sample_dump.counts, **SOURCE)
    s3.put_object(Bucket=env.bucket, Key="dumps-manifest/gghouse_20260302.json", Body=manifest.to_json().encode())
    verdict, _, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert verdict.reasons == ("MISSING_DUMP",) and "does not exist" in verdict.detail
    assert evidence["dump_copy"] is None and evidence["manifest_copy"] is not None
    assert json.loads(s3.get_object(Bucket=env.bucket, Key=evidence["verdict"])["Body"].read())["dump_copy"] is None


def test_no_manifest_at_all_is_missing(env, s3, secretsmanager):
    verdict, _, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert verdict.status is Status.MISSING and evidence == {}
    assert one_alert(env)["Subject"] == "[tokyobeta] MISSING dump 2026-03-02: no manifest"


def test_declared_invalid_is_skipped_with_a_notice_and_no_copy(env, s3, secretsmanager, sample_dump):
    manifest = manifest_for(sample_dump.data, DAY, sample_dump.counts, valid_for_etl=False,
                            reason_codes=("MANUAL_QUARANTINE",), **SOURCE)
    upload_pair(s3, env.bucket, sample_dump.data, manifest)
    verdict, _, evidence = judge_and_quarantine(env, s3, secretsmanager)
    assert verdict.reasons == ("MANUAL_QUARANTINE",) and evidence == {}
    assert s3.list_objects_v2(Bucket=env.bucket, Prefix="dumps-quarantine/").get("KeyCount") == 0
    alert = one_alert(env)
    assert alert["Subject"].startswith("[tokyobeta] SKIPPED dump 2026-03-02")
    assert alert["MessageAttributes"]["severity"]["Value"] == "WARNING"


def test_checksum_mismatch_found_while_loading_quarantines_and_keeps_staging(env, s3, secretsmanager, sample_dump,
                                                                              admin_conn):
    good = manifest_for(sample_dump.data, DAY, sample_dump.counts, **SOURCE)
    first = ingest_day.load(env.conn, env.cfg, good, io.BytesIO(sample_dump.data), ingest_day.DumpAt("f", "m"), "r1",
                            None)
    assert first.status == "loaded"
    before = checksums(admin_conn, env.schemas["staging"])
    day2 = DAY + timedelta(days=1)
    at = sample_dump.data.index(b"INSERT INTO `payments` VALUES") + 40
    tampered = sample_dump.data[:at] + b"X" + sample_dump.data[at + 1:]
    manifest = manifest_for(sample_dump.data, day2, sample_dump.counts, **SOURCE)  # describes the original bytes
    upload_pair(s3, env.bucket, tampered, manifest)
    verdict, where = ingest_day.judge_in_bucket(env.cfg, s3, secretsmanager, day2)
    assert verdict.loadable  # same size: only reading it can tell
    body = s3.get_object(Bucket=env.bucket, Key=where.dump)["Body"]
    outcome = ingest_day.load(env.conn, env.cfg, manifest, body, where, "r2", operator._notifier("r2"))
    assert outcome.status == "quarantined" and outcome.verdict.reasons == ("CHECKSUM_MISMATCH",)
    assert checksums(admin_conn, env.schemas["staging"]) == before
    assert tags(s3, env.bucket, outcome.evidence["dump_copy"])["reason"] == "CHECKSUM_MISMATCH"
    ops = env.schemas["ops"]
    assert count(env.conn, f"SELECT COUNT(*) FROM `{ops}`.load_history WHERE status = 'quarantined' AND run_id = 'r2' "
                           "AND detail LIKE %s", ("%CHECKSUM_MISMATCH%",)) == 1
    assert count(env.conn, f"SELECT COUNT(*) FROM `{ops}`.manifest_verdicts WHERE dump_date = %s", (day2,)) == 1
    assert "CHECKSUM_MISMATCH" in one_alert(env)["Subject"]


def test_expected_source_comes_from_the_secret_and_has_no_default(env, secretsmanager, monkeypatch):
    assert provenance.expected_source(env.cfg, secretsmanager).host == "db.example"
    broken = unique("tokyobeta/test/broken")
    localstack.ensure_secret(secretsmanager, broken, {"host": "db.example", "dbname": ""})
    monkeypatch.setenv("SOURCE_SECRET_ID", broken)
    with pytest.raises(provenance.ProvenanceConfigError, match=f"secret {broken} has no value for dbname"):
        provenance.expected_source(settings.Settings(), secretsmanager)
    monkeypatch.setenv("SOURCE_SECRET_ID", unique("tokyobeta/test/absent"))
    with pytest.raises(provenance.ProvenanceConfigError, match="does not exist"):
        provenance.expected_source(settings.Settings(), secretsmanager)
