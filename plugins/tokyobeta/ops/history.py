"""The ops schema: load history and manifest verdicts (what was loaded, from which dump and
sha, how many rows, when, by which run). Freshness and backfill read it."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from tokyobeta import sqlfiles
from tokyobeta.ingest.manifest import Manifest, Verdict


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
                    result: Any = None, detail: str = "") -> None:
        """status: loaded | dry_run | failed | quarantined."""
        self._insert(manifest.dump_date, manifest.dump_key, manifest.dump_sha256, manifest.dump_bytes, status,
                     run_id, started_at, result, detail)

    def record_restore(self, dump_info: Mapping[str, Any], run_id: str | None, started_at: datetime,
                       detail: str) -> None:
        """A backup swapped back into staging (`tokyobeta restore-staging`): status restored."""
        self._insert(dump_info["dump_date"], dump_info["dump_key"], dump_info["dump_sha256"], dump_info["dump_bytes"],
                     "restored", run_id, started_at, None, detail)

    def _insert(self, dump_date: Any, dump_key: str, sha256: str, dump_bytes: int, status: str, run_id: str | None,
                started_at: datetime, result: Any, detail: str) -> None:
        self.ensure_tables()
        finished = _utc_naive()
        with self.conn.cursor() as cur:
            cur.execute(
                f"INSERT INTO `{self.ops}`.`load_history` (dump_date, dump_key, dump_sha256, dump_bytes, status, "
                "row_counts, stream_seconds, swap_seconds, total_seconds, run_id, started_at, finished_at, detail) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (dump_date, dump_key, sha256, dump_bytes, status,
                 json.dumps(result.row_counts) if result else None,
                 result.stream_seconds if result else None, result.swap_seconds if result else None,
                 (finished - _utc_naive(started_at)).total_seconds(), run_id,
                 _utc_naive(started_at), finished, detail[:60000]))
