"""Loads one dump into the staging schema without ever losing the previous good load.

The dump streams once. Each contract table's CREATE TABLE is accepted only in its plain form,
checked against the contract and created as `staging.<table>__incoming`; its INSERTs are
checked to be literal rows and go to the server with only the table name rewritten; every
other table's statements are skipped unexecuted, and anything a dump tool would not write
rejects the dump. Reading and hashing (one thread), checking (this thread) and the server
parsing rows (another thread) overlap. Size, sha256, completeness and row counts are verified,
and only then one RENAME TABLE swaps all tables in, moving the previous ones to
staging_backup. Any failure before the swap (including kill -9) leaves staging as it was; the
next load drops the leftovers.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping

from tokyobeta import sqlfiles
from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import dumpfile, inserts, schema
from tokyobeta.ingest.dumpfile import Kind
from tokyobeta.ingest.manifest import Manifest, ReasonCode

log = logging.getLogger(__name__)

INCOMING = "__incoming"
LOCK_NAME = "tokyobeta.load_staging"
SWAPPED_TABLES = (*TABLE_NAMES, "dump_info")
# The session the rows are read in. The dump's own header is never executed; this is what it
# would set (NO_AUTO_VALUE_ON_ZERO keeps id 0 as 0; no NO_ZERO_DATE, so zero dates load), in
# strict mode so a value that does not fit fails the load instead of being silently cut.
# unique_checks stays on: with it off, MariaDB's bulk insert into an empty table reports a
# duplicate key only as an opaque error at COMMIT, and it buys nothing measurable here.
SESSION_SQL_MODE = "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO"
_SESSION = f"SET SESSION sql_mode = '{SESSION_SQL_MODE}', time_zone = '+00:00', foreign_key_checks = 0"
_UTF8 = {"utf8mb4", "utf8", "utf8mb3"}
# Below this many rows (as the manifest announces) a table keeps its secondary indexes in its
# CREATE: a separate index build has a fixed cost (~20-40 ms) that only pays off on big tables.
DEFER_INDEXES_FROM_ROWS = 20_000
# Server errors that are the dump's fault: the same dump fails the same way on every retry.
_ROW_ERRORS = {1048, 1054, 1062, 1064, 1136, 1264, 1265, 1292, 1366, 1367, 1406, 1411, 1416, 1690, 3140, 4025}
_DDL_ERRORS = {1059, 1060, 1061, 1063, 1067, 1068, 1071, 1072, 1074, 1075, 1101, 1115, 1117, 1118, 1166, 1170,
               1273, 1286, 1289}


class QuarantineDump(Exception):
    """The dump is not fit to load; `reasons` are manifest reason codes. Staging is untouched."""

    def __init__(self, reasons: list[str] | tuple[str, ...], detail: str):
        super().__init__(f"{', '.join(reasons)}: {detail}")
        self.reasons = tuple(dict.fromkeys(reasons))
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

    @property
    def rows(self) -> int:
        return sum(self.row_counts.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "dump_date": self.dump_date.isoformat(), "dump_key": self.dump_key, "sha256": self.sha256,
            "bytes": self.bytes_read, "row_counts": self.row_counts, "stream_seconds": round(self.stream_seconds, 3),
            "swap_seconds": round(self.swap_seconds, 3), "swapped": self.swapped,
            "skipped_statements": self.skipped_statements,
        }


@dataclass(frozen=True)
class Progress:
    bytes_read: int                # of the object (compressed bytes for gzip)
    row_counts: Mapping[str, int]  # rows the server has taken so far
    table: str | None              # the contract table being loaded, if any


def _q(*parts: str) -> str:
    return ".".join(f"`{p.replace('`', '``')}`" for p in parts)


def _forbidden(stmt: dumpfile.Statement, why: str) -> QuarantineDump:
    shown = (stmt.text or b"")[:120].decode("utf-8", "replace")
    return QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value], f"statement at byte {stmt.offset}: {why}: {shown!r}")


class _ServerWriter:
    """Runs approved statements, in order, on one connection in a thread of its own, so the
    server parses one INSERT while the scanner checks the next (mysqlclient releases the GIL
    while it waits). At most `depth` statements wait: memory stays bounded."""

    def __init__(self, conn: Any, depth: int = 4):
        self._conn = conn
        self.row_counts = {t: 0 for t in TABLE_NAMES}
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="dump-server-writer", daemon=True)
        self._thread.start()

    def backlog(self) -> int:
        """Statements submitted and not yet done (the one in flight included)."""
        return self._queue.unfinished_tasks

    def submit(self, sql: bytes, what: str, rows_of: str | None) -> None:
        """`rows_of`: the table whose row count the statement adds to (INSERTs); None for DDL."""
        if self._error is not None:
            raise self._error
        self._queue.put((sql, what, rows_of))

    def _run(self) -> None:
        while (item := self._queue.get()) is not None:
            try:
                if self._error is not None or self._cancelled:
                    continue
                sql, what, rows_of = item
                try:
                    self._conn.query(sql)
                    if rows_of is not None:
                        self.row_counts[rows_of] += self._conn.affected_rows()
                except BaseException as exc:
                    self._error = _server_error(exc, what, ddl=rows_of is None)
            finally:
                self._queue.task_done()

    def finish(self) -> None:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error

    def cancel(self) -> None:
        """Stop after the statement in flight; the caller then owns the connection again."""
        self._cancelled = True
        self._queue.put(None)
        self._thread.join()


class _Writers:
    """One _ServerWriter per connection. A contract table goes to the least busy writer when
    its CREATE TABLE arrives, and all its statements follow it there, in order: tables load in
    parallel (the server parses rows on more than one core) while each table's CREATE, INSERTs
    and index build stay in sequence."""

    def __init__(self, connections: list[Any]):
        self._writers = [_ServerWriter(conn) for conn in connections]
        self._owner: dict[str, _ServerWriter] = {}

    def assign(self, table: str) -> None:
        self._owner[table] = min(self._writers, key=_ServerWriter.backlog)

    def submit(self, table: str, sql: bytes, what: str, rows: bool = False) -> None:
        self._owner[table].submit(sql, what, table if rows else None)

    def broadcast(self, sql: bytes, what: str) -> None:
        for writer in self._writers:
            writer.submit(sql, what, None)

    @property
    def row_counts(self) -> dict[str, int]:
        return {t: sum(w.row_counts[t] for w in self._writers) for t in TABLE_NAMES}

    def finish(self) -> dict[str, int]:
        errors = []
        for writer in self._writers:
            try:
                writer.finish()
            except BaseException as exc:
                errors.append(exc)
        if errors:  # a verdict on the dump says more than a failure it caused elsewhere
            raise next((e for e in errors if isinstance(e, QuarantineDump)), errors[0])
        return self.row_counts

    def cancel(self) -> None:
        for writer in self._writers:
            writer.cancel()


def _server_error(exc: BaseException, what: str, ddl: bool) -> BaseException:
    code = exc.args[0] if getattr(exc, "args", None) and isinstance(exc.args[0], int) else None
    message = exc.args[1] if code is not None and len(exc.args) > 1 else str(exc)
    if ddl and code in _DDL_ERRORS:
        return QuarantineDump([ReasonCode.SCHEMA_DRIFT.value], f"the server refused {what}: ({code}) {message}")
    if code in _ROW_ERRORS:
        return QuarantineDump([ReasonCode.INVALID_DATA.value], f"the server refused {what}: ({code}) {message}")
    return exc


class Loader:
    def __init__(self, conn: Any, schemas: Mapping[str, str], include_dir: Path, backups_kept: int = 3,
                 lock_wait_seconds: int = 30, connect: Callable[[], Any] | None = None, writers: int = 2):
        """`connect` opens more connections like `conn`: with it, `writers` connections load
        tables in parallel; without it everything goes through `conn`."""
        self.conn = conn
        self.connect = connect
        self.writers = writers if connect is not None else 1
        self.staging = schemas["staging"]
        self.backup = schemas["staging_backup"]
        self.schemas = schemas
        self.include_dir = include_dir
        self.backups_kept = backups_kept
        self.lock_wait_seconds = lock_wait_seconds

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

    def _drop_incoming_after_failure(self) -> None:
        try:
            self.drop_incoming()
        except Exception:  # the original failure is the one to report; the next load cleans up
            log.warning("could not drop the __incoming tables after a failed load", exc_info=True)

    def _acquire(self) -> None:
        # A load killed a moment ago holds the lock until the server notices its connection is
        # gone (after the statement it was running), hence a short wait rather than none.
        (got,), = self._rows("SELECT GET_LOCK(%s, %s)", (f"{LOCK_NAME}:{self.staging}", self.lock_wait_seconds))
        if got != 1:
            raise LoadBusy(f"another load into {self.staging} has held lock {LOCK_NAME} for "
                           f"{self.lock_wait_seconds} s; try again when it ends")

    def _release(self) -> None:
        self._rows("SELECT RELEASE_LOCK(%s)", (f"{LOCK_NAME}:{self.staging}",))

    # --- the load ---
    def load(self, body: BinaryIO, manifest: Manifest, *, dry_run: bool = False,
             progress: Callable[[Progress], None] | None = None) -> LoadResult:
        """Stream, verify and (unless dry_run) swap in one dump. Raises QuarantineDump when the
        dump is unfit, any other exception when loading failed; staging is untouched then."""
        self._acquire()
        try:
            self.drop_incoming()
            self._execute(_SESSION)
            started = time.monotonic()
            reader = dumpfile.DumpReader(body, gzip=manifest.gzip)
            try:
                try:
                    counts, skipped = self._stream(reader, manifest.table_row_counts, progress)
                except QuarantineDump as exc:
                    try:
                        reader.drain()  # the true size and sha256 belong in the verdict
                    except Exception:  # e.g. the connection to S3 broke: the content verdict stands alone
                        log.warning("could not read the rest of the dump for its size and sha256", exc_info=True)
                        raise exc from None
                    integrity = _integrity_problems(reader, manifest)
                    raise QuarantineDump([code for code, _ in integrity] + list(exc.reasons),
                                         "; ".join([detail for _, detail in integrity] + [exc.detail])) from exc
                self._verify(reader, manifest, counts)
            except BaseException:
                self._drop_incoming_after_failure()
                raise
            result = LoadResult(manifest.dump_date, manifest.dump_key, reader.hexdigest(), reader.bytes_read,
                                counts, time.monotonic() - started, 0.0, False, skipped)
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

    def _stream(self, reader: dumpfile.DumpReader, expected_rows: Mapping[str, int],
                progress: Callable[[Progress], None] | None) -> tuple[dict[str, int], int]:
        created: dict[str, schema.TableDefinition] = {}
        skipped = 0
        scanner = dumpfile.Scanner(reader, TABLE_NAMES)
        extra = [self.connect() for _ in range(self.writers - 1)]
        for conn in extra:
            with conn.cursor() as cur:
                cur.execute(_SESSION)
        writer = _Writers([self.conn, *extra])
        indexing: str | None = None  # the contract table whose secondary indexes wait for its rows
        try:
            for stmt in scanner:
                table = stmt.table if stmt.table in TABLE_NAMES else None
                if indexing is not None and stmt.table is not None and stmt.table != indexing:
                    # Its section is over: build its indexes while the scanner reads on.
                    self._build_indexes(created[indexing], writer)
                    indexing = None
                if stmt.text is None or stmt.kind is Kind.DEFINITION or (table is None and stmt.kind in (
                        Kind.CREATE_TABLE, Kind.INSERT, Kind.DROP_TABLE, Kind.TABLE_FRAMING)):
                    skipped += stmt.count
                elif stmt.kind is Kind.SESSION:
                    self._session_statement(stmt, writer)
                elif stmt.kind is Kind.OTHER:
                    raise _forbidden(stmt, "not a statement mysqldump or mariadb-dump writes "
                                           "(UPDATE, DELETE, DROP DATABASE, ALTER ... are refused)")
                elif stmt.kind is Kind.CREATE_TABLE:
                    created[table] = self._create_incoming(stmt, table, created, writer,
                                                           defer_indexes=expected_rows[table] >= DEFER_INDEXES_FROM_ROWS)
                    indexing = table
                elif stmt.kind is Kind.INSERT:
                    if table not in created:
                        raise _forbidden(stmt, f"an INSERT into `{table}` before its CREATE TABLE")
                    try:
                        sql = inserts.rewrite(stmt.text, table, self._target(table).encode())
                    except inserts.InsertRejected as exc:
                        raise _forbidden(stmt, str(exc)) from None
                    writer.submit(table, sql, f"an INSERT into `{table}` at byte {stmt.offset}", rows=True)
                elif stmt.kind is Kind.DROP_TABLE and table in created:
                    raise _forbidden(stmt, f"a DROP TABLE after `{table}` was created would drop its rows")
                if progress is not None:
                    progress(Progress(reader.bytes_read, writer.row_counts, table))
            if indexing is not None:
                self._build_indexes(created[indexing], writer)
            counts = writer.finish()
        except dumpfile.DumpFormatError as exc:
            writer.cancel()
            code = ReasonCode.CORRUPT_DUMP if isinstance(exc, dumpfile.CorruptDump) else ReasonCode.TRUNCATED_DUMP
            raise QuarantineDump([code.value], str(exc)) from exc
        except dumpfile.StatementTooLarge as exc:
            writer.cancel()
            raise QuarantineDump([ReasonCode.FORBIDDEN_STATEMENT.value], str(exc)) from exc
        except BaseException:
            writer.cancel()
            raise
        finally:
            for conn in extra:
                conn.close()
        if not scanner.completed:
            raise QuarantineDump([ReasonCode.TRUNCATED_DUMP.value],
                                 "the dump has no closing '-- Dump completed' line: it was cut off")
        missing = [t for t in TABLE_NAMES if t not in created]
        if missing:
            raise QuarantineDump([ReasonCode.SCHEMA_DRIFT.value], f"contract tables missing from the dump: {missing}")
        return counts, skipped

    def _target(self, table: str) -> str:
        return _q(self.staging, table + INCOMING)

    def _session_statement(self, stmt: dumpfile.Statement, writer: _Writers) -> None:
        setting = dumpfile.session_setting(stmt.text or b"")
        if setting is None:
            return
        name, value = setting
        if name == "names" and value not in _UTF8:
            raise _forbidden(stmt, f"the dump is written in {value}; the loader reads utf8mb4 dumps only "
                                   "(dump with --default-character-set=utf8mb4)")
        if name == "time_zone":
            # TIMESTAMP values in the dump are in this zone; the loader's session must agree.
            writer.broadcast(f"SET SESSION time_zone = '{value}'".encode(), f"SET TIME_ZONE at byte {stmt.offset}")

    def _create_incoming(self, stmt: dumpfile.Statement, table: str, created: Mapping[str, Any],
                         writer: _Writers, defer_indexes: bool) -> schema.TableDefinition:
        if table in created:
            raise _forbidden(stmt, f"a second CREATE TABLE `{table}`")
        try:
            definition = schema.parse(stmt.text.decode("utf-8"))
        except (schema.CreateTableRejected, UnicodeDecodeError) as exc:
            raise _forbidden(stmt, str(exc)) from None
        problems = schema.drift(table, definition.columns)
        if problems:
            raise QuarantineDump([ReasonCode.SCHEMA_DRIFT.value], "; ".join(problems))
        if not defer_indexes:
            definition = replace(definition, deferred=())
        writer.assign(table)
        writer.submit(table, definition.incoming_ddl(self._target(table)).encode(),
                      f"the CREATE TABLE of `{table}` at byte {stmt.offset}")
        return definition

    def _build_indexes(self, definition: schema.TableDefinition, writer: _Writers) -> None:
        ddl = definition.index_ddl(self._target(definition.table))
        if ddl is not None:
            writer.submit(definition.table, ddl.encode(), f"the indexes of `{definition.table}`")

    def _verify(self, reader: dumpfile.DumpReader, manifest: Manifest, counts: dict[str, int]) -> None:
        integrity = _integrity_problems(reader, manifest)
        if integrity:
            raise QuarantineDump([code for code, _ in integrity], "; ".join(detail for _, detail in integrity))
        off = {t: (counts[t], manifest.table_row_counts[t]) for t in TABLE_NAMES
               if counts[t] != manifest.table_row_counts[t]}
        if off:
            detail = ", ".join(f"{t}: loaded {got}, manifest {want}" for t, (got, want) in off.items())
            raise QuarantineDump([ReasonCode.ROW_COUNT_MISMATCH.value], detail)

    def _write_dump_info(self, manifest: Manifest) -> None:
        sqlfiles.run_file(self.conn, self.include_dir / "sql" / "staging" / "dump_info_incoming.sql", self.schemas, {
            "dump_date": manifest.dump_date, "dump_key": manifest.dump_key,
            "dump_sha256": manifest.dump_sha256, "dump_bytes": manifest.dump_bytes})

    def dump_info(self) -> dict[str, Any]:
        """Which dump staging holds (staging.dump_info); empty before the first load."""
        exists = self._rows("SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'dump_info'",
                            (self.staging,))
        if not exists:
            return {}
        rows = self._rows(f"SELECT dump_date, dump_key, dump_sha256, dump_bytes FROM {_q(self.staging, 'dump_info')} "
                          "ORDER BY dump_date DESC LIMIT 1")
        return dict(zip(("dump_date", "dump_key", "dump_sha256", "dump_bytes"), rows[0])) if rows else {}

    def current_dump_date(self) -> date | None:
        return self.dump_info().get("dump_date")

    def _existing(self, schema_name: str) -> set[str]:
        return {name for (name,) in self._rows(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", (schema_name,))}

    def _swap(self) -> list[str]:
        live = self._existing(self.staging)
        kept = self._existing(self.backup)
        previous = self.current_dump_date()
        suffix = f"__{previous:%Y%m%d}" if previous else "__unknown"
        renames: list[str] = []
        backups: list[str] = []
        for table in SWAPPED_TABLES:
            if table in live:
                backup = table + suffix
                if backup in kept:  # the same day loaded twice: the older copy of that day goes
                    self._execute(f"DROP TABLE {_q(self.backup, backup)}")
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
            live = self._existing(self.staging)
            current = self.current_dump_date()
            parking = f"__{current:%Y%m%d}" if current else "__unknown"
            renames, parked = [], []
            for table in SWAPPED_TABLES:
                if table in live:
                    renames.append(f"{_q(self.staging, table)} TO {_q(self.staging, table + '__restoring')}")
                renames.append(f"{_q(self.backup, table + suffix)} TO {_q(self.staging, table)}")
                if table in live:
                    renames.append(f"{_q(self.staging, table + '__restoring')} TO {_q(self.backup, table + parking)}")
                    parked.append(table + parking)
            self._execute("RENAME TABLE " + ", ".join(renames))
            return parked
        finally:
            self._release()


def _integrity_problems(reader: dumpfile.DumpReader, manifest: Manifest) -> list[tuple[str, str]]:
    problems = []
    if reader.bytes_read != manifest.dump_bytes:
        code = ReasonCode.TRUNCATED_DUMP if reader.bytes_read < manifest.dump_bytes else ReasonCode.SIZE_MISMATCH
        problems.append((code.value, f"read {reader.bytes_read} bytes, manifest says {manifest.dump_bytes}"))
    if reader.hexdigest() != manifest.dump_sha256:
        problems.append((ReasonCode.CHECKSUM_MISMATCH.value,
                         f"sha256 {reader.hexdigest()} != manifest {manifest.dump_sha256}"))
    return problems
