"""Dumps for the ingestion tests: written by the real mariadb-dump from a source database (or
reshaped into MySQL mysqldump's one-line layout), with manifests that describe them, or lie."""

from __future__ import annotations

import dataclasses
import gzip as gzip_mod
import hashlib
import os
import subprocess
from datetime import date, datetime, timezone
from pathlib import Path

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import manifest as manifest_mod

DAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, 46, tzinfo=timezone.utc)


def mariadb_dump(database: str) -> bytes:
    """What the publisher's mariadb-dump writes (same options), as the admin user."""
    env = {**os.environ, "MYSQL_PWD": os.environ.get("MYSQL_ADMIN_PASSWORD", "")}
    return subprocess.run(
        ["mariadb-dump", "--protocol=tcp", f"--host={os.environ['MYSQL_HOST']}", f"--port={os.environ['MYSQL_PORT']}",
         f"--user={os.environ['MYSQL_ADMIN_USER']}", "--single-transaction", "--skip-dump-date", "--no-tablespaces",
         "--default-character-set=utf8mb4", database],
        check=True, capture_output=True, env=env).stdout


def mysqldump_layout(dump: bytes) -> bytes:
    """The same dump as MySQL 8's mysqldump lays it out: each extended INSERT on one line and its
    header lines. Exact, because a raw newline never falls inside a dumped value."""
    body = dump.replace(b" VALUES\n(", b" VALUES (").replace(b"),\n(", b"),(")
    body = body.replace(b"/*M!999999\\- enable the sandbox mode */ \n", b"")
    body = body.replace(b"/*!40101 SET NAMES utf8mb4 */;",
                        b"/*!50503 SET NAMES utf8mb4 */;\n/*!40101 SET NAMES utf8 */;\n/*!50503 SET NAMES utf8mb4 */;")
    return body.replace(b"-- Dump completed", b"-- Dump completed on 2026-03-02  1:46:00")


def row_counts(conn, database: str) -> dict[str, int]:
    with conn.cursor() as cur:
        out = {}
        for table in TABLE_NAMES:
            cur.execute(f"SELECT COUNT(*) FROM `{database}`.`{table}`")
            out[table] = int(cur.fetchone()[0])
        return out


def manifest_for(data: bytes, day: date, counts: dict[str, int], *, gzip: bool = False,
                 host: str = "127.0.0.1", database: str = "gghouse", **changes) -> manifest_mod.Manifest:
    """A truthful manifest for `data`; `changes` make it lie (dump_bytes=..., dump_sha256=...)."""
    manifest = manifest_mod.Manifest(
        dump_date=day, dump_key=f"dumps/gghouse_{day:%Y%m%d}.sql" + (".gz" if gzip else ""),
        dump_bytes=len(data), dump_sha256=hashlib.sha256(data).hexdigest(),
        source=manifest_mod.Source(host, database, "tokyobeta/test/source"),
        source_valid=True, valid_for_etl=True, reason_codes=(), table_row_counts=dict(counts),
        dump_started_at=NOW, dump_finished_at=NOW, published_at=NOW)
    return dataclasses.replace(manifest, **changes)


def gzipped(data: bytes) -> bytes:
    return gzip_mod.compress(data, compresslevel=1)


def write_pair(folder: Path, data: bytes, manifest: manifest_mod.Manifest) -> tuple[Path, Path]:
    dump_path = folder / manifest.dump_key.rsplit("/", 1)[-1]
    manifest_path = folder / f"gghouse_{manifest.dump_date:%Y%m%d}.json"
    dump_path.write_bytes(data)
    manifest_path.write_text(manifest.to_json())
    return dump_path, manifest_path


def upload_pair(s3, bucket: str, data: bytes, manifest: manifest_mod.Manifest, manifest_prefix: str = "dumps-manifest/",
                manifest_body: bytes | None = None) -> None:
    """The publisher's order: the dump first, then the manifest (the commit marker)."""
    s3.put_object(Bucket=bucket, Key=manifest.dump_key, Body=data)
    s3.put_object(Bucket=bucket, Key=f"{manifest_prefix}gghouse_{manifest.dump_date:%Y%m%d}.json",
                  Body=manifest_body if manifest_body is not None else manifest.to_json().encode())
