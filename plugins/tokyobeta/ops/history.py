"""The ops schema: load history and manifest verdicts (what was loaded, from which dump, its S3
version and sha, how many rows, when, by which run) and the log of the steps after publish.
Freshness, backfill and lineage read it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tokyobeta import sqlfiles
from tokyobeta.ingest.manifest import Manifest, Verdict

# Columns added after a table first shipped: CREATE TABLE IF NOT EXISTS leaves an existing table
# as it is, so these are added when information_schema lacks them (MySQL 8 / Aurora have no
# ADD COLUMN IF NOT EXISTS). (table, column, definition)
_ADDED_COLUMNS = (
    ("load_history", "dump_version_id", "VARCHAR(1024) NULL COMMENT 'S3 version of the dump object read; "
                                        "NULL from a local file or an unversioned bucket'"),
)


def _utc_naive(value: datetime | None = None) -> datetime:
    return (value or datetime.now(timezone.utc)).astimezone(timezone.utc).replace(tzinfo=None)


class History:
    def __init__(self, conn: Any, schemas: Mapping[str, str], include_dir: Path):
        self.conn = conn
        self.schemas = schemas
        self.ops = schemas["ops"]
        self.include_dir = include_dir

    def ensure_tables(self) -> None:
        sqlfiles.run_file(self.conn, self.include_dir / "sql" / "ddl" / "ops.sql", self.schemas)
        for table, column, definition in _ADDED_COLUMNS:
            add_column_if_missing(self.conn, self.ops, table, column, definition)

    def record_verdict(self, verdict: Verdict, run_id: str | None) -> None:
        self.ensure_tables()
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{self.ops}`.`manifest_verdicts` (dump_date, status, reasons, detail, dump_key, "
                "dump_sha256, run_id, decided_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (verdict.dump_date, verdict.status.value, " ".join(verdict.reasons), verdict.detail[:60000],
                 verdict.manifest.dump_key if verdict.manifest else None,
                 verdict.manifest.dump_sha256 if verdict.manifest else None, run_id, _utc_naive()))

    def record_load(self, manifest: Manifest, status: str, run_id: str | None, started_at: datetime,
                    result: Any = None, detail: str = "", version_id: str | None = None) -> None:
        """status: loaded | dry_run | failed | quarantined. version_id: the S3 version of the dump read."""
        self._insert(manifest.dump_date, manifest.dump_key, manifest.dump_sha256, manifest.dump_bytes, status,
                     run_id, started_at, result, detail, version_id)

    def record_restore(self, dump_info: Mapping[str, Any], run_id: str | None, started_at: datetime,
                       detail: str) -> None:
        """A backup swapped back into staging (`tokyobeta restore-staging`): status restored, with
        the S3 version the original load of that dump recorded."""
        self.ensure_tables()
        with self.conn.cursor() as cur:
            cur.execute(f"SELECT dump_version_id FROM `{self.ops}`.`load_history` WHERE dump_date = %s "
                        "AND dump_sha256 = %s AND status = 'loaded' ORDER BY id DESC LIMIT 1",
                        (dump_info["dump_date"], dump_info["dump_sha256"]))
            row = cur.fetchone()
        self._insert(dump_info["dump_date"], dump_info["dump_key"], dump_info["dump_sha256"], dump_info["dump_bytes"],
                     "restored", run_id, started_at, None, detail, row[0] if row else None)

    def record_step(self, dump_date: Any, step: str, run_id: str | None, status: str,
                    detail: Mapping[str, Any]) -> None:
        """A step after publish (upsert_kpis, archive_dump) for lineage: status done | skipped | failed."""
        self.ensure_tables()
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{self.ops}`.`step_log` (dump_date, step, run_id, status, detail, finished_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (dump_date, step, run_id, status, json.dumps(detail, default=str, sort_keys=True), _utc_naive()))

    def load_lineage(self, dump_date: Any, manifest_key: str) -> dict[str, Any] | None:
        """What the publish step records of the day's staging load: the newest successful load of
        the day (loaded or restored) as load_history id, dump key, S3 version, sha256, and the
        manifest key the daily run read (settings.manifest_key). None when the day has no load."""
        self.ensure_tables()
        with self.conn.cursor() as cur:
            cur.execute(
                f"SELECT id, dump_key, dump_version_id, dump_sha256 FROM `{self.ops}`.`load_history` "
                "WHERE dump_date = %s AND status IN ('loaded', 'restored') ORDER BY id DESC LIMIT 1", (dump_date,))
            row = cur.fetchone()
        if row is None:
            return None
        return {"load_history_id": int(row[0]), "dump_key": row[1], "dump_version_id": row[2],
                "dump_sha256": row[3], "manifest_key": manifest_key}

    def _insert(self, dump_date: Any, dump_key: str, sha256: str, dump_bytes: int, status: str, run_id: str | None,
                started_at: datetime, result: Any, detail: str, version_id: str | None = None) -> None:
        self.ensure_tables()
        finished = _utc_naive()
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{self.ops}`.`load_history` (dump_date, dump_key, dump_sha256, dump_bytes, status, "
                "row_counts, stream_seconds, swap_seconds, total_seconds, run_id, started_at, finished_at, detail, "
                "dump_version_id) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (dump_date, dump_key, sha256, dump_bytes, status,
                 json.dumps(result.row_counts) if result else None,
                 result.stream_seconds if result else None, result.swap_seconds if result else None,
                 (finished - _utc_naive(started_at)).total_seconds(), run_id,
                 _utc_naive(started_at), finished, detail[:60000], version_id))


def add_column_if_missing(conn: Any, schema: str, table: str, column: str, definition: str) -> bool:
    """ALTER TABLE ... ADD COLUMN unless information_schema already lists the column; True when
    added. Two tasks racing here both see it missing: the loser's duplicate column error is ignored."""
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "AND column_name = %s", (schema, table, column))
        if cur.fetchone():
            return False
        try:
            cur.execute(f"ALTER TABLE `{schema}`.`{table}` ADD COLUMN `{column}` {definition}")
        except Exception as exc:  # noqa: BLE001 - only "duplicate column" (1060) is expected
            if getattr(exc, "args", (None,))[0] != 1060:
                raise
            return False
    return True
