"""Loads one dump into the staging schema without ever losing the previous good load.

The dump streams once: each contract table's CREATE TABLE is checked against the contract and
created as `staging.<table>__incoming`; its INSERT statements go to the server with only the
table name rewritten; every other table's statements are skipped unexecuted. Size, sha256,
completeness and row counts are verified, and only then one RENAME TABLE swaps all tables in,
moving the previous ones to staging_backup. Any failure before the swap (including kill -9)
leaves staging as it was; the next load drops the leftovers.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

from tokyobeta import sqlfiles
from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import dumpfile, schema
from tokyobeta.ingest.dumpfile import Kind
from tokyobeta.ingest.manifest import Manifest, ReasonCode

log = logging.getLogger(__name__)

INCOMING = "__incoming"
LOCK_NAME = "tokyobeta.load_staging"
SWAPPED_TABLES = (*TABLE_NAMES, "dump_info")
_SESSION = (
    # What mysqldump's header would set; we apply it ourselves instead of executing the header.
    "SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+00:00', "
    "unique_checks = 0, foreign_key_checks = 0"
)
_TABLE_OPTIONS = re.compile(
    rb"^\)\s*(?:(?:DEFAULT\s+)?[A-Z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|[\w.]+)\s*)*;$", re.IGNORECASE)
_FOREIGN_KEY = re.compile(rb"^\s*(?:CONSTRAINT\s+`[^`]*`\s+)?FOREIGN\s+KEY", re.IGNORECASE)


class QuarantineDump(Exception):
    """The dump is not fit to load; `reasons` are manifest reason codes. Staging is untouched."""

    def __init__(self, reasons: list[str] | tuple[str, ...], detail: str):
        super().__init__(f"{', '.join(reasons)}: {detail}")
        self.reasons = tuple(reasons)
        self.detail = detail


class LoadBusy(RuntimeError):
    pass


@dataclass
class LoadResult:
    dump_date: date
    dump_key: str
    sha256: str
    bytes_read: int
    row_counts: dict[str, int]
    stream_seconds: float
    swap_seconds: float
    swapped: bool
    skipped_statements: int = 0
    backups: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "dump_date": self.dump_date.isoformat(), "dump_key": self.dump_key, "sha256": self.sha256,
            "bytes": self.bytes_read, "row_counts": self.row_counts, "stream_seconds": round(self.stream_seconds, 3),
            "swap_seconds": round(self.swap_seconds, 3), "swapped": self.swapped,
            "skipped_statements": self.skipped_statements,
        }


def _q(*parts: str) -> str:
    return ".".join(f"`{p}`" for p in parts)


def _incoming_create(table: str, text: bytes, target: bytes) -> bytes:
    lines = text.split(b"\n")
    if not _TABLE_OPTIONS.match(lines[-1].strip()):
        raise QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value],
                             f"CREATE TABLE `{table}` ends with {lines[-1][:120]!r}, not plain table options")
    # Foreign keys would point the incoming table at the live ones and block the swap.
    kept = [line for line in lines[1:-1] if not _FOREIGN_KEY.match(line)]
    if kept:
        kept[-1] = kept[-1].rstrip().rstrip(b",")
    return b"\n".join([b"CREATE TABLE " + target + b" (", *kept, lines[-1]])


def _rewrite_insert(stmt: dumpfile.Statement, target: bytes) -> bytes:
    m = dumpfile.INSERT_RE.match(stmt.text)
    assert m is not None
    return stmt.text[: m.start(1) - 1] + target + stmt.text[m.end(1) + 1:]


class Loader:
    def __init__(self, conn: Any, schemas: Mapping[str, str], include_dir: Path, backups_kept: int = 3):
        self.conn = conn
        self.staging = schemas["staging"]
        self.backup = schemas["staging_backup"]
        self.schemas = schemas
        self.include_dir = include_dir
        self.backups_kept = backups_kept

    # --- housekeeping ---
    def _execute(self, sql: str | bytes, args: Any = None) -> None:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)

    def _rows(self, sql: str, args: Any = None) -> list[tuple]:
        with self.conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def drop_incoming(self) -> None:
        for (name,) in self._rows(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = %s AND table_name LIKE %s",
                (self.staging, f"%{INCOMING.replace('_', chr(92) + '_')}")):
            self._execute(f"DROP TABLE IF EXISTS {_q(self.staging, name)}")

    def _acquire(self) -> None:
        (got,), = self._rows("SELECT GET_LOCK(%s, 0)", (f"{LOCK_NAME}:{self.staging}",))
        if got != 1:
            raise LoadBusy(f"another load into {self.staging} holds lock {LOCK_NAME}; try again when it ends")

    def _release(self) -> None:
        self._rows("SELECT RELEASE_LOCK(%s)", (f"{LOCK_NAME}:{self.staging}",))

    # --- the load ---
    def load(self, body: BinaryIO, manifest: Manifest, *, dry_run: bool = False,
             progress: Callable[[int, dict[str, int]], None] | None = None) -> LoadResult:
        self._acquire()
        try:
            self.drop_incoming()
            self._execute(_SESSION)
            started = time.monotonic()
            reader = dumpfile.HashingReader(body)
            try:
                counts, skipped = self._stream(reader, manifest, progress)
                self._verify(reader, manifest, counts)
            except Exception:
                self.drop_incoming()
                raise
            stream_seconds = time.monotonic() - started
            result = LoadResult(manifest.dump_date, manifest.dump_key, reader.hexdigest(), reader.bytes_read,
                                counts, stream_seconds, 0.0, False, skipped)
            if dry_run:
                self.drop_incoming()
                return result
            swap_started = time.monotonic()
            self._write_dump_info(manifest)
            result.backups = self._swap()
            result.swap_seconds = time.monotonic() - swap_started
            result.swapped = True
            self._prune_backups()
            return result
        finally:
            self._release()

    def _stream(self, reader: dumpfile.HashingReader, manifest: Manifest,
                progress: Callable[[int, dict[str, int]], None] | None) -> tuple[dict[str, int], int]:
        created: set[str] = set()
        counts = {t: 0 for t in TABLE_NAMES}
        skipped = 0
        stream = dumpfile.StatementStream(dumpfile.iter_lines(dumpfile.iter_chunks(reader, manifest.gzip)))
        try:
            for stmt in stream:
                table = stmt.table if stmt.table in counts else None
                if stmt.kind in (Kind.COMMENT, Kind.FRAMING):
                    continue
                if table is None:
                    if stmt.kind is Kind.OTHER and dumpfile.touches_contract_table(stmt):
                        raise QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value],
                                             f"line {stmt.line_no}: {stmt.text[:120]!r} touches a contract table")
                    skipped += 1
                    continue
                target = _q(self.staging, table + INCOMING).encode()
                if stmt.kind is Kind.CREATE_TABLE:
                    problems = schema.drift(table, stmt.text.decode("utf-8", "replace"))
                    if problems:
                        raise QuarantineDump([ReasonCode.SCHEMA_DRIFT.value], "; ".join(problems))
                    if table in created:
                        raise QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value],
                                             f"line {stmt.line_no}: a second CREATE TABLE `{table}`")
                    self._execute(_incoming_create(table, stmt.text, target))
                    created.add(table)
                elif stmt.kind is Kind.INSERT and table in created:
                    with self.conn.cursor() as cur:
                        counts[table] += cur.execute(_rewrite_insert(stmt, target))
                    if progress:
                        progress(reader.bytes_read, counts)
                else:
                    raise QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value],
                                         f"line {stmt.line_no}: {stmt.kind.value} statement on `{table}` "
                                         f"is not allowed: {stmt.text[:120]!r}")
        except dumpfile.DumpFormatError as exc:
            raise QuarantineDump([ReasonCode.TRUNCATED_DUMP.value], str(exc)) from exc
        if not stream.completed:
            raise QuarantineDump([ReasonCode.TRUNCATED_DUMP.value],
                                 "the dump has no closing '-- Dump completed' line: it was cut off")
        missing = [t for t in TABLE_NAMES if t not in created]
        if missing:
            raise QuarantineDump([ReasonCode.SCHEMA_DRIFT.value], f"contract tables missing from the dump: {missing}")
        return counts, skipped

    def _verify(self, reader: dumpfile.HashingReader, manifest: Manifest, counts: dict[str, int]) -> None:
        if reader.bytes_read != manifest.dump_bytes:
            code = ReasonCode.TRUNCATED_DUMP if reader.bytes_read < manifest.dump_bytes else ReasonCode.SIZE_MISMATCH
            raise QuarantineDump([code.value], f"read {reader.bytes_read} bytes, manifest says {manifest.dump_bytes}")
        if reader.hexdigest() != manifest.dump_sha256:
            raise QuarantineDump([ReasonCode.CHECKSUM_MISMATCH.value],
                                 f"sha256 {reader.hexdigest()} != manifest {manifest.dump_sha256}")
        off = {t: (counts[t], manifest.table_row_counts[t]) for t in TABLE_NAMES
               if counts[t] != manifest.table_row_counts[t]}
        if off:
            detail = ", ".join(f"{t}: loaded {got}, manifest {want}" for t, (got, want) in off.items())
            raise QuarantineDump([ReasonCode.ROW_COUNT_MISMATCH.value], detail)

    def _write_dump_info(self, manifest: Manifest) -> None:
        sqlfiles.run_file(self.conn, self.include_dir / "sql" / "staging" / "dump_info_incoming.sql", self.schemas, {
            "dump_date": manifest.dump_date, "dump_key": manifest.dump_key,
            "dump_sha256": manifest.dump_sha256, "dump_bytes": manifest.dump_bytes})

    def current_dump_date(self) -> date | None:
        exists = self._rows("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'dump_info'",
                            (self.staging,))
        if not exists:
            return None
        rows = self._rows(f"SELECT MAX(dump_date) FROM {_q(self.staging, 'dump_info')}")
        return rows[0][0] if rows else None

    def _existing(self, schema_name: str) -> set[str]:
        return {name for (name,) in self._rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema_name,))}

    def _swap(self) -> list[str]:
        live = self._existing(self.staging)
        previous = self.current_dump_date()
        suffix = f"__{previous:%Y%m%d}" if previous else "__unknown"
        renames: list[str] = []
        backups: list[str] = []
        for table in SWAPPED_TABLES:
            if table in live:
                backup = table + suffix
                # The same day loaded twice: the older copy of that day is the one to drop.
                self._execute(f"DROP TABLE IF EXISTS {_q(self.backup, backup)}")
                renames.append(f"{_q(self.staging, table)} TO {_q(self.backup, backup)}")
                backups.append(backup)
            renames.append(f"{_q(self.staging, table + INCOMING)} TO {_q(self.staging, table)}")
        self._execute("RENAME TABLE " + ", ".join(renames))
        return backups

    def backup_dates(self) -> list[str]:
        suffixes = {name.rsplit("__", 1)[1] for name in self._existing(self.backup) if "__" in name}
        return sorted(suffixes, reverse=True)

    def _prune_backups(self) -> None:
        for suffix in self.backup_dates()[self.backups_kept:]:
            for table in SWAPPED_TABLES:
                self._execute(f"DROP TABLE IF EXISTS {_q(self.backup, f'{table}__{suffix}')}")

    def restore(self, day: date) -> list[str]:
        """Swap the backup of `day` back into staging; the current tables take its place."""
        suffix = f"__{day:%Y%m%d}"
        available = self._existing(self.backup)
        missing = [t for t in SWAPPED_TABLES if t + suffix not in available]
        if missing:
            raise FileNotFoundError(f"no complete backup for {day} in {self.backup} (missing {missing}); "
                                    f"available: {', '.join(self.backup_dates()) or 'none'}")
        self._acquire()
        try:
            current = self.current_dump_date()
            parking = f"__{current:%Y%m%d}" if current else "__unknown"
            renames = []
            for table in SWAPPED_TABLES:
                renames.append(f"{_q(self.staging, table)} TO {_q(self.staging, table + '__restoring')}")
                renames.append(f"{_q(self.backup, table + suffix)} TO {_q(self.staging, table)}")
                renames.append(f"{_q(self.staging, table + '__restoring')} TO {_q(self.backup, table + parking)}")
            self._execute("RENAME TABLE " + ", ".join(renames))
            return [t + parking for t in SWAPPED_TABLES]
        finally:
            self._release()
