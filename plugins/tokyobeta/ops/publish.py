"""Publishes one day's dump of the source and then its manifest (DESIGN section 3).

The dump object is complete before the manifest is written, so a manifest's presence means
the pair is whole. This version shells out to `mariadb-dump` (the local stand-in of the
legacy cron); credentials come only from the source-contract secret, with no fallback.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.io.s3stream import MultipartWriter

REQUIRED_SECRET_FIELDS = ("host", "port", "dbname", "username", "password")
READ_BYTES = 4 * 1024 * 1024


class SourceSecretError(RuntimeError):
    pass


@dataclass(frozen=True)
class SourceCredentials:
    host: str
    port: int
    dbname: str
    username: str
    password: str
    secret_id: str


def credentials(secrets_client: Any, secret_id: str) -> SourceCredentials:
    raw = secrets_client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        raise SourceSecretError(f"secret {secret_id} is not JSON") from None
    missing = [f for f in REQUIRED_SECRET_FIELDS if not str(doc.get(f) or "").strip()]
    if missing:
        raise SourceSecretError(f"secret {secret_id} is missing {', '.join(missing)}: every one of "
                                f"{', '.join(REQUIRED_SECRET_FIELDS)} is required (no default source)")
    return SourceCredentials(str(doc["host"]), int(doc["port"]), str(doc["dbname"]), str(doc["username"]),
                             str(doc["password"]), secret_id)


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def row_counts(creds: SourceCredentials) -> dict[str, int]:
    import MySQLdb

    conn = MySQLdb.connect(host=creds.host, port=creds.port, user=creds.username, password=creds.password,
                           database=creds.dbname, charset="utf8mb4", multi_statements=False)
    try:
        with conn.cursor() as cur:
            counts = {}
            for table in TABLE_NAMES:
                cur.execute(f"SELECT COUNT(*) FROM `{table}`")
                counts[table] = int(cur.fetchone()[0])
            return counts
    finally:
        conn.close()


def publish_with_mariadb_dump(s3: Any, bucket: str, dumps_prefix: str, manifest_prefix: str,
                              creds: SourceCredentials, day: date, *, gzip: bool = False) -> manifest_mod.Manifest:
    key = f"{dumps_prefix}gghouse_{day:%Y%m%d}.sql" + (".gz" if gzip else "")
    counts = row_counts(creds)
    started = _utc_now()
    cmd = ["mariadb-dump", "--protocol=tcp", f"--host={creds.host}", f"--port={creds.port}",
           f"--user={creds.username}", "--single-transaction", "--skip-dump-date", "--no-tablespaces",
           "--default-character-set=utf8mb4", creds.dbname]
    # The password travels in the environment, never on a command line visible in ps.
    env = {**os.environ, "MYSQL_PWD": creds.password}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        with MultipartWriter(s3, bucket, key, gzip=gzip) as writer:
            while chunk := proc.stdout.read(READ_BYTES):
                writer.write(chunk)
            if proc.wait() != 0:
                raise RuntimeError(f"mariadb-dump failed ({proc.returncode}): {proc.stderr.read().decode()[:2000]}")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    finished = _utc_now()
    manifest = manifest_mod.Manifest(
        dump_date=day, dump_key=key, dump_bytes=writer.bytes_written, dump_sha256=writer.hexdigest(),
        source=manifest_mod.Source(creds.host, creds.dbname, creds.secret_id),
        source_valid=True, valid_for_etl=True, reason_codes=(), table_row_counts=counts,
        dump_started_at=started, dump_finished_at=finished, published_at=_utc_now(),
    )
    write_manifest(s3, bucket, manifest_prefix, manifest)
    return manifest


def write_manifest(s3: Any, bucket: str, manifest_prefix: str, manifest: manifest_mod.Manifest) -> str:
    key = f"{manifest_prefix}gghouse_{manifest.dump_date:%Y%m%d}.json"
    s3.put_object(Bucket=bucket, Key=key, Body=manifest.to_json().encode(), ContentType="application/json")
    return key
