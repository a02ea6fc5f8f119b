"""The dump publisher against MariaDB and moto: its dump restores with the real `mariadb` client
(every table) and loads with our loader (the contract tables) to identical CHECKSUM TABLEs,
plain and gzip; the manifest is written last and describes the dump exactly; a failure (the
source changing under it, a bad secret) leaves an invalid manifest and no object, a failed
republish leaves the good pair alone, and a publisher killed with SIGKILL mid-upload leaves
neither a valid manifest nor an object."""

from __future__ import annotations

import gc
import gzip as gzip_mod
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date

import pytest

from support.db import checksums, count
from support.hostile import HOSTILE_STRINGS, build_hostile_source
from tokyobeta import settings
from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ingest.staging import Loader
from tokyobeta.ops import publish
from tokyobeta.ops.publish import Bucket

DAY = date(2026, 3, 2)


def contract_checksums(conn, schema: str) -> dict[str, int]:
    return {t: c for t, c in checksums(conn, schema).items() if t in TABLE_NAMES}


@pytest.fixture(autouse=True)
def configured_secret(monkeypatch) -> str:
    """Each test's secret is the configured SOURCE_SECRET_ID, as on MWAA, where the execution
    role may read that one secret only (tests/support/awscalls.py checks every read against it)."""
    secret_id = f"tokyobeta/test/{uuid.uuid4().hex[:8]}/source"
    monkeypatch.setenv("SOURCE_SECRET_ID", secret_id)
    return secret_id


def secret_for(secretsmanager, database: str, name: str | None = None, **changes) -> str:
    from tokyobeta.ops import localstack

    secret_id = name or os.environ["SOURCE_SECRET_ID"]
    doc = {"host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]), "dbname": database,
           "username": os.environ["SOURCE_DB_USER"], "password": os.environ["SOURCE_DB_PASSWORD"], **changes}
    localstack.ensure_secret(secretsmanager, secret_id, {k: v for k, v in doc.items() if v is not ...})
    return secret_id


def manifest_in(bucket: Bucket, day: date = DAY) -> dict | None:
    try:
        return json.loads(bucket.s3.get_object(Bucket=bucket.name, Key=bucket.manifest_key(day))["Body"].read())
    except bucket.s3.exceptions.NoSuchKey:
        return None


def objects(bucket: Bucket, prefix: str) -> list[str]:
    return [o["Key"] for o in bucket.s3.list_objects_v2(Bucket=bucket.name, Prefix=prefix).get("Contents", [])]


def pending_uploads(bucket: Bucket) -> list:
    return bucket.s3.list_multipart_uploads(Bucket=bucket.name).get("Uploads", [])


def restore_with_client(dump: bytes, database: str) -> None:
    with_db = ["mariadb", "--protocol=tcp", f"--host={os.environ['MYSQL_HOST']}", f"--port={os.environ['MYSQL_PORT']}",
               f"--user={os.environ['MYSQL_ADMIN_USER']}"]
    env = {**os.environ, "MYSQL_PWD": os.environ.get("MYSQL_ADMIN_PASSWORD", "")}
    subprocess.run(with_db + ["-e", f"DROP DATABASE IF EXISTS `{database}`; CREATE DATABASE `{database}` "
                                    "CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"], check=True, env=env)
    subprocess.run(with_db + [database], input=dump, check=True, env=env, capture_output=True)


@pytest.fixture
def pub(s3, bucket) -> Bucket:
    cfg = settings.Settings()
    return Bucket.of(cfg, s3, bucket)


@pytest.fixture
def edge_source(admin_conn):
    """The hostile contract tables plus a non-contract table of every awkward type: binary
    with NUL and high bytes, empty blobs, BIT, floats, decimals, JSON, ENUM/SET, YEAR, TIME,
    zero dates and a generated column (which must not be inserted into)."""
    database = settings.Settings().schema("pubedge_gghouse")
    build_hostile_source(admin_conn, database)
    with admin_conn.cursor() as cur:
        cur.execute(f"""CREATE TABLE `{database}`.`zz_types` (
            id INT PRIMARY KEY, bin VARBINARY(64), blb LONGBLOB, flags BIT(5), f FLOAT, d DOUBLE,
            dec_ DECIMAL(20,6), js JSON, e ENUM('a','b''c'), s SET('x','y'), y YEAR, t TIME(3),
            zd DATE, ts TIMESTAMP NULL, txt MEDIUMTEXT, gen INT AS (id * 2) VIRTUAL, `we``ird col` INT)""")
        cur.execute("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+09:00'")
        rows = [(1, b"\x00\xff'\\\n\r\x1a", b"", 31, 1.5e-7, 1e300, "-12345678901234.123456", '{"k": "v\\n🏠"}',
                 "b'c", "x,y", 2026, "-838:59:59.000", "0000-00-00", "2026-03-01 23:30:00", "\t".join(HOSTILE_STRINGS), 7),
                (2, None, None, None, None, None, None, None, None, "", None, None, None, None, None, None),
                (3, b"", bytes(range(256)) * 50, 0, -0.0, -2.5, "0.000001", "[]", "a", "y", 1901, "00:00:00.5",
                 "2026-02-00", None, "", 0)]
        cur.executemany(f"INSERT INTO `{database}`.zz_types (id, bin, blb, flags, f, d, dec_, js, e, s, y, t, zd, ts, "
                        "txt, `we``ird col`) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)", rows)
    yield database
    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")


def load_with_our_loader(mysql_conn, schemas, cfg, dump: bytes, manifest):
    from tokyobeta.io import mysql

    loader = Loader(mysql_conn, schemas, cfg.include_path, connect=lambda: mysql.connect(cfg.mysql_conn_id))
    return loader.load(io.BytesIO(dump), manifest)


@pytest.mark.parametrize("source, gzip", [("edge", False), ("sample", True)])
def test_dump_restores_with_the_client_and_loads_with_our_loader(
        request, source, gzip, pub, secretsmanager, admin_conn, mysql_conn, fresh_schemas, cfg):
    database = request.getfixturevalue("edge_source") if source == "edge" else \
        request.getfixturevalue("sample_dump").database
    source_sums = checksums(admin_conn, database)
    manifest = publish.publish(pub, secretsmanager, secret_for(secretsmanager, database), DAY, gzip=gzip)

    # the manifest in the bucket is the one returned, valid, and describes the object exactly
    doc = manifest_in(pub)
    assert manifest_mod.parse(json.dumps(doc), expected_date=DAY) == manifest
    assert manifest.valid_for_etl and manifest.source_valid and manifest.reason_codes == () and gc.isenabled()
    assert manifest.dump_key == pub.dump_key(DAY, gzip) and manifest.source.database == database
    body = pub.s3.get_object(Bucket=pub.name, Key=manifest.dump_key)["Body"].read()
    assert len(body) == manifest.dump_bytes and hashlib.sha256(body).hexdigest() == manifest.dump_sha256
    dump = gzip_mod.decompress(body) if gzip else body
    assert dump.rstrip().endswith(b"-- Dump completed") and b"START TRANSACTION" not in dump
    assert dict(manifest.table_row_counts) == {
        t: count(admin_conn, f"SELECT COUNT(*) FROM `{database}`.`{t}`") for t in TABLE_NAMES}

    # the real client restores every table exactly
    restored = settings.Settings().schema("pubrestore")
    try:
        restore_with_client(dump, restored)
        assert checksums(admin_conn, restored) == source_sums and len(source_sums) > len(TABLE_NAMES)
    finally:
        with admin_conn.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{restored}`")

    # our loader takes the same object (as published, compressed or not) into staging exactly
    result = load_with_our_loader(mysql_conn, fresh_schemas, cfg, body, manifest)
    assert result.swapped and result.row_counts == dict(manifest.table_row_counts)
    assert contract_checksums(admin_conn, fresh_schemas["staging"]) == contract_checksums(admin_conn, database)


def test_the_same_snapshot_gives_the_same_bytes_and_a_valid_day_is_not_replaced_unasked(
        pub, secretsmanager, sample_dump):
    secret_id = secret_for(secretsmanager, sample_dump.database)
    first = publish.publish(pub, secretsmanager, secret_id, DAY)
    with pytest.raises(publish.PublishRefused, match="--replace"):
        publish.publish(pub, secretsmanager, secret_id, DAY)
    assert manifest_in(pub) == json.loads(first.to_json())
    again = publish.publish(pub, secretsmanager, secret_id, DAY, replace=True)
    # no timestamps in the dump text: unchanged data, unchanged sha256
    assert (again.dump_sha256, again.dump_bytes) == (first.dump_sha256, first.dump_bytes)
    assert again.valid_for_etl and pending_uploads(pub) == []


def drop_table_when(admin_conn, database: str, after: str, victim: str):
    """A callback for publish(on_table=...): once `after` is dumped, `victim` (not yet read by
    the snapshot) disappears, as when someone drops a table mid-dump."""
    def on_table(table: str, rows: int) -> None:
        if table == after:
            with admin_conn.cursor() as cur:
                cur.execute("SET SESSION lock_wait_timeout = 10")
                cur.execute(f"DROP TABLE `{database}`.`{victim}`")
    return on_table


def test_a_failure_mid_dump_aborts_the_upload_and_leaves_an_invalid_manifest(
        pub, secretsmanager, edge_source, admin_conn):
    secret_id = secret_for(secretsmanager, edge_source)
    with pytest.raises(Exception, match="tenants"):
        publish.publish(pub, secretsmanager, secret_id, DAY,
                        on_table=drop_table_when(admin_conn, edge_source, "apartments", "tenants"))
    assert objects(pub, pub.dumps_prefix) == [] and pending_uploads(pub) == []
    assert gc.isenabled()  # the dump pauses the cyclic GC; a failure must not leave it off in the task
    doc = manifest_in(pub)
    manifest = manifest_mod.parse(json.dumps(doc), expected_date=DAY)
    assert (manifest.valid_for_etl, manifest.source_valid, manifest.reason_codes) == (False, True, ("PUBLISH_FAILED",))
    assert "tenants" in manifest.detail and manifest.source.database == edge_source
    verdict = manifest_mod.judge(manifest, manifest_mod.ExpectedSource(os.environ["MYSQL_HOST"], edge_source), None)
    assert verdict.status is manifest_mod.Status.QUARANTINED and verdict.reasons == ("PUBLISH_FAILED",)


def test_a_failed_republish_leaves_the_good_pair_untouched(pub, secretsmanager, edge_source, admin_conn):
    secret_id = secret_for(secretsmanager, edge_source)
    good = publish.publish(pub, secretsmanager, secret_id, DAY)
    good_body = pub.s3.get_object(Bucket=pub.name, Key=good.dump_key)["Body"].read()
    with pytest.raises(Exception, match="tenants"):
        publish.publish(pub, secretsmanager, secret_id, DAY, replace=True,
                        on_table=drop_table_when(admin_conn, edge_source, "apartments", "tenants"))
    assert manifest_in(pub) == json.loads(good.to_json())
    assert pub.s3.get_object(Bucket=pub.name, Key=good.dump_key)["Body"].read() == good_body
    assert pending_uploads(pub) == []


@pytest.mark.parametrize("field, value", [("password", ...), ("host", ""), ("dbname", "  "), ("port", None),
                                          ("username", ...)])
def test_a_secret_without_a_field_fails_naming_it_with_no_fallback(pub, secretsmanager, sample_dump, field, value):
    secret_id = secret_for(secretsmanager, sample_dump.database, **{field: value})
    with pytest.raises(publish.SourceSecretError, match=rf"missing {field}\b.*no default source"):
        publish.publish(pub, secretsmanager, secret_id, DAY)
    assert objects(pub, pub.dumps_prefix) == [] and pending_uploads(pub) == []
    manifest = manifest_mod.parse(json.dumps(manifest_in(pub)), expected_date=DAY)
    assert not manifest.valid_for_etl and not manifest.source_valid and field in manifest.detail


def cli(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokyobeta.cli", *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)


def test_cli_refuses_while_frozen_and_names_the_missing_field(pub, secretsmanager, sample_dump):
    secret_id = secret_for(secretsmanager, sample_dump.database)
    frozen = cli("publish-dump", "--date", str(DAY), PUBLISH_FROZEN="true", SOURCE_SECRET_ID=secret_id)
    assert frozen.returncode == 3 and "frozen" in frozen.stderr and "PUBLISH_FROZEN" in frozen.stderr
    assert objects(pub, "") == []
    bad = cli("publish-dump", "--date", str(DAY), SOURCE_SECRET_ID=secret_for(secretsmanager, sample_dump.database,
                                                                               f"{secret_id}-bad", password=""))
    assert bad.returncode == 1 and "missing password" in bad.stderr and "no valid manifest" in bad.stderr
    ok = cli("publish-dump", "--date", str(DAY), "--gzip", SOURCE_SECRET_ID=secret_id)
    assert ok.returncode == 0, ok.stderr
    assert manifest_in(pub)["valid_for_etl"] is True and manifest_in(pub)["dump_key"].endswith(".sql.gz")


def test_quarantine_day_keeps_the_dump_and_describes_it(pub, secretsmanager, sample_dump):
    secret_id = secret_for(secretsmanager, sample_dump.database)
    good = publish.publish(pub, secretsmanager, secret_id, DAY)
    done = cli("quarantine-day", "--date", str(DAY), "--reason", "wrong source: restored from staging replica")
    assert done.returncode == 0, done.stderr
    assert "kept as evidence" in done.stdout and "MANUAL_QUARANTINE" in done.stdout
    manifest = manifest_mod.parse(json.dumps(manifest_in(pub)), expected_date=DAY)
    assert not manifest.valid_for_etl and manifest.reason_codes == ("MANUAL_QUARANTINE",)
    assert manifest.detail == "wrong source: restored from staging replica"
    assert (manifest.dump_key, manifest.dump_bytes, manifest.dump_sha256) == (good.dump_key, good.dump_bytes,
                                                                              good.dump_sha256)
    assert objects(pub, pub.dumps_prefix) == [good.dump_key]
    # a scheduled publish does not undo an operator's quarantine; --replace does
    with pytest.raises(publish.PublishRefused, match="quarantined by hand"):
        publish.publish(pub, secretsmanager, secret_id, DAY)
    assert publish.publish(pub, secretsmanager, secret_id, DAY, replace=True).valid_for_etl
    assert cli("quarantine-day", "--date", str(DAY), "--reason", " ").returncode == 1


@pytest.fixture
def big_source(admin_conn):
    """A source whose dump spans several 16 MB parts."""
    from tokyobeta.sample.source import build_sample_source

    database = settings.Settings().schema("pubbig_gghouse")
    build_sample_source(admin_conn, database, DAY, scale=0.05, seed=3, other_mb=70.0)
    yield database
    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")


def test_a_publisher_killed_mid_upload_leaves_no_valid_manifest_and_no_object(pub, secretsmanager, big_source):
    env = {**os.environ, "SOURCE_SECRET_ID": secret_for(secretsmanager, big_source), "DUMP_BUCKET": pub.name}
    proc = subprocess.Popen([sys.executable, "-m", "tokyobeta.cli", "publish-dump", "--date", str(DAY)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    key = pub.dump_key(DAY)
    parts = 0
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and parts == 0:
            for upload in pending_uploads(pub):
                parts = len(pub.s3.list_parts(Bucket=pub.name, Key=key, UploadId=upload["UploadId"]).get("Parts", []))
            time.sleep(0.02)
        assert proc.poll() is None and parts >= 1, "the publisher was not caught mid-upload (source too small?)"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert objects(pub, pub.dumps_prefix) == []        # an uncompleted multipart upload is invisible
    doc = manifest_in(pub)
    assert doc is None or doc["valid_for_etl"] is False  # no manifest at all: the daily run keeps waiting
    for upload in pending_uploads(pub):                  # what S3's abort-incomplete-uploads rule removes
        pub.s3.abort_multipart_upload(Bucket=pub.name, Key=upload["Key"], UploadId=upload["UploadId"])


def test_quarantine_day_describes_an_orphan_dump_by_its_own_bytes(pub):
    body = b"-- a dump whose manifest never came\n" * 1000
    pub.s3.put_object(Bucket=pub.name, Key=pub.dump_key(DAY, gzip=True), Body=body)
    manifest = publish.quarantine_day(pub, DAY, "publisher died after the upload", "tokyobeta/test/source")
    assert (manifest.dump_key, manifest.dump_bytes, manifest.dump_sha256) == (
        pub.dump_key(DAY, gzip=True), len(body), hashlib.sha256(body).hexdigest())
    assert manifest_mod.parse(json.dumps(manifest_in(pub)), expected_date=DAY) == manifest
    # and a day with nothing at all gets an empty description, still a parseable invalid manifest
    other = publish.quarantine_day(pub, date(2026, 3, 3), "never dumped", "tokyobeta/test/source")
    assert other.dump_bytes == 0 and not other.valid_for_etl and other.reason_codes == ("MANUAL_QUARANTINE",)
