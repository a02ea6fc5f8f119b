"""mysqldump-compatible SQL written in Python, from one consistent snapshot of a database.

MWAA has no mysql client, so the publisher cannot shell out to mysqldump. This writes the same
text mysqldump writes (its header and footer, and per table `DROP TABLE IF EXISTS`, the
server's own `SHOW CREATE TABLE`, `LOCK TABLES`, `DISABLE KEYS`, extended INSERTs of about 1 MB
a line, `ENABLE KEYS`, `UNLOCK TABLES`, then `-- Dump completed`), so the `mariadb`/`mysql`
client restores it and our loader (ingest/dumpfile.py, ingest/inserts.py) reads it.

- One snapshot: `START TRANSACTION WITH CONSISTENT SNAPSHOT` at REPEATABLE READ before the
  table list is read; every table's rows come from that one point in time (InnoDB tables;
  a non-transactional table would be read as of when its turn comes, as with mysqldump's
  --single-transaction).
- Rows are streamed (server-side cursor, `fetchmany`), so memory stays bounded by one INSERT
  line whatever the table size, and counted as written, so the counts describe the dump exactly.
- Values travel as the server's own text (no Python conversion): numbers, dates (zero dates
  included) and decimals come out exactly as the server prints them. Strings are escaped as
  mysql_real_escape_string does with backslash escapes (not the source session's sql_mode:
  the dump's own header decides how it is read); binary columns are hex literals, which no
  charset can alter.
- The output is deterministic (no timestamps in the text): the same data gives the same bytes
  and so the same sha256.
- Views, triggers, routines and events are not dumped: the pipeline reads base tables only, and
  definitions carry DEFINERs that would not exist where the dump is restored.

The connection must return raw bytes (`raw_connection`); nothing else here does I/O.
"""

from __future__ import annotations

import gc
from binascii import hexlify
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

from MySQLdb._mysql import string_literal

LINE_BYTES = 1_000_000   # mysqldump's default net_buffer_length: one INSERT line at most ~1 MB
FETCH_ROWS = 2_000

# DATA_TYPEs written unquoted, exactly as the server prints them.
NUMERIC_TYPES = frozenset({"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "decimal", "numeric",
                           "float", "double", "real"})
# DATA_TYPEs written as hex literals: arbitrary bytes, never text in a charset.
BINARY_TYPES = frozenset({"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit",
                          "geometry", "point", "linestring", "polygon", "multipoint", "multilinestring",
                          "multipolygon", "geometrycollection"})

NUMERIC, TEXT, BINARY = 0, 1, 2

HEADER = b"""-- tokyobeta sqldump (mysqldump-compatible)
--
-- Host: %(host)s    Database: %(database)s
-- ------------------------------------------------------
-- Server version\t%(version)s

/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;
"""

FOOTER = b"""/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;

-- Dump completed
"""


class DumpSourceError(RuntimeError):
    """The source cannot be dumped as asked (e.g. a required table is missing)."""


def column_literals(values: Sequence[bytes | None], kind: int) -> Sequence[bytes]:
    """One column of a batch of rows as SQL literals. Strings are escaped as
    mysql_real_escape_string does (the C client's own escaping, through mysqlclient: \\0 \\n \\r
    \\Z \\\\ \\' \\", tabs raw), byte-wise, which is right for utf8mb4, whose multi-byte sequences
    never contain those ASCII bytes. Per value this is one C call or none: formatting is most of
    the publisher's work, so a column without NULLs takes a path with no Python per value."""
    if kind == NUMERIC:
        return values if None not in values else [b"NULL" if v is None else v for v in values]
    if kind == TEXT:
        if None not in values:
            return list(map(string_literal, values))
        return [b"NULL" if v is None else string_literal(v) for v in values]
    # 0x with no digits is not a literal; an empty binary value is the empty string.
    return [b"NULL" if v is None else b"0x" + hexlify(v) if v else b"''" for v in values]


def kind_of(data_type: str) -> int:
    data_type = data_type.lower()
    if data_type in NUMERIC_TYPES:
        return NUMERIC
    if data_type in BINARY_TYPES:
        return BINARY
    return TEXT


def quote_ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def insert_lines(table: str, columns: Sequence[str] | None, batches: Iterable[Sequence[Sequence[bytes | None]]],
                 kinds: Sequence[int], line_bytes: int = LINE_BYTES) -> Iterable[tuple[bytes, int]]:
    """Extended INSERT statements (each one line, ending ';\\n') and how many rows each holds,
    from batches of rows. A line closes once it passes `line_bytes`; a single larger row gets a
    line of its own."""
    head = f"INSERT INTO {quote_ident(table)} "
    if columns is not None:
        head += "(" + ",".join(quote_ident(c) for c in columns) + ") "
    head_bytes = (head + "VALUES (").encode()
    pending: list[bytes] = []   # each row's literals joined by commas, without its parentheses
    size = 0                    # of the pending rows as written: "(" + row + ")" + ","
    for batch in batches:
        if not batch:
            continue
        # Column-wise, so each column's kind is decided once per batch, not once per value.
        formatted = [column_literals(values, kind) for values, kind in zip(zip(*batch), kinds)]
        for row in map(b",".join, zip(*formatted)):
            n = len(row) + 3
            if pending and size + n > line_bytes:
                yield head_bytes + b"),(".join(pending) + b");\n", len(pending)
                pending, size = [], 0
            pending.append(row)
            size += n
    if pending:
        yield head_bytes + b"),(".join(pending) + b");\n", len(pending)


@dataclass
class DumpResult:
    tables: dict[str, int] = field(default_factory=dict)   # every dumped table -> rows written
    text_bytes: int = 0                                     # uncompressed size of the SQL


def _text(value: Any) -> str:
    return value.decode("utf-8") if isinstance(value, (bytes, bytearray)) else str(value)


def _query(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    cur = conn.cursor()
    try:
        cur.execute(sql, args)
        return list(cur.fetchall())
    finally:
        cur.close()


def begin_snapshot(conn: Any) -> None:
    """Session settings of the dump, then the snapshot every later read sees."""
    for statement in (
        # The dump's header promises UTC for TIMESTAMP columns and plain backquoted DDL; an
        # ANSI_QUOTES or NO_TABLE_OPTIONS session mode would change SHOW CREATE TABLE's output.
        "SET SESSION time_zone = '+00:00'",
        "SET SESSION sql_mode = ''",
        "SET SESSION sql_quote_show_create = 1",
        # A slow S3 upload must not make the server give up on a streaming result.
        "SET SESSION net_write_timeout = 3600",
        "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT",
    ):
        _query(conn, statement)


def base_tables(conn: Any, database: str) -> list[str]:
    rows = _query(conn, f"SHOW FULL TABLES FROM {quote_ident(database)} WHERE Table_type = 'BASE TABLE'")
    return sorted(_text(r[0]) for r in rows)


class Column(NamedTuple):
    name: str
    kind: int
    generated: bool   # cannot be inserted into: left out of the INSERT
    invisible: bool   # MySQL 8: dumped, but an INSERT without a column list does not cover it


def table_columns(conn: Any, database: str, table: str) -> list[Column]:
    """Every column, in table order."""
    rows = _query(conn, "SELECT COLUMN_NAME, DATA_TYPE, EXTRA FROM information_schema.COLUMNS "
                        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION", (database, table))
    out = []
    for name, data_type, extra in rows:
        extra = _text(extra or b"").upper()
        # MySQL 8 marks expression defaults DEFAULT_GENERATED: those are ordinary columns.
        generated = "VIRTUAL GENERATED" in extra or "STORED GENERATED" in extra or extra in {"VIRTUAL", "PERSISTENT"}
        out.append(Column(_text(name), kind_of(_text(data_type)), generated, "INVISIBLE" in extra))
    return out


def dump_table(conn: Any, database: str, table: str, write: Callable[[bytes], None],
               line_bytes: int = LINE_BYTES, fetch_rows: int = FETCH_ROWS) -> int:
    import MySQLdb.cursors

    ident = quote_ident(table)
    create = _query(conn, f"SHOW CREATE TABLE {ident}")[0][1]
    columns = table_columns(conn, database, table)
    stored = [c for c in columns if not c.generated]
    # Then name the columns, as mysqldump does.
    explicit = len(stored) != len(columns) or any(c.invisible for c in columns)
    names = [c.name for c in stored] if explicit else None
    kinds = [c.kind for c in stored]
    name = table.replace("\n", " ").encode()
    write(b"\n--\n-- Table structure for table `" + name + b"`\n--\n\n"
          + f"DROP TABLE IF EXISTS {ident};\n".encode()
          + b"/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
          + b"/*!40101 SET character_set_client = utf8mb4 */;\n"
          + (create if isinstance(create, bytes) else create.encode()) + b";\n"
          + b"/*!40101 SET character_set_client = @saved_cs_client */;\n"
          + b"\n--\n-- Dumping data for table `" + name + b"`\n--\n\n"
          + f"LOCK TABLES {ident} WRITE;\n/*!40000 ALTER TABLE {ident} DISABLE KEYS */;\n".encode())
    select = ", ".join(quote_ident(c.name) for c in stored)
    cur = conn.cursor(MySQLdb.cursors.SSCursor)
    rows = 0
    try:
        cur.execute(f"SELECT {select} FROM {ident}")

        def batches() -> Iterable[Sequence[Sequence[bytes | None]]]:
            while batch := cur.fetchmany(fetch_rows):
                yield batch

        for line, count in insert_lines(table, names, batches(), kinds, line_bytes):
            write(line)
            rows += count
    finally:
        cur.close()
    write(f"/*!40000 ALTER TABLE {ident} ENABLE KEYS */;\nUNLOCK TABLES;\n".encode())
    return rows


def dump_database(conn: Any, database: str, write: Callable[[bytes], None], *, host: str = "",
                  required_tables: Sequence[str] = (), line_bytes: int = LINE_BYTES,
                  on_table: Callable[[str, int], None] | None = None) -> DumpResult:
    """Write the whole database as one mysqldump-compatible text through `write`.
    `required_tables` must exist in the snapshot (the contract tables), else DumpSourceError
    before anything but the header is written."""
    result = DumpResult()

    def counted(data: bytes) -> None:
        result.text_bytes += len(data)
        write(data)

    begin_snapshot(conn)
    # Every row is a few tuples that die young and are never in a cycle, so the cyclic GC only
    # costs here (about 15% of the dump's time; more in an Airflow task, whose large heap each
    # full collection walks). Reference counting still frees everything as it goes.
    gc_was_enabled = gc.isenabled()
    gc.disable()
    try:
        tables = base_tables(conn, database)
        missing = [t for t in required_tables if t not in tables]
        if missing:
            raise DumpSourceError(f"the source database {database} has no table {', '.join(missing)}")
        version = _text(_query(conn, "SELECT VERSION()")[0][0])
        counted(HEADER % {b"host": host.encode(), b"database": database.encode(), b"version": version.encode()})
        for table in tables:
            result.tables[table] = dump_table(conn, database, table, counted, line_bytes)
            if on_table is not None:
                on_table(table, result.tables[table])
        counted(FOOTER)
    finally:
        if gc_was_enabled:
            gc.enable()
        try:
            _query(conn, "ROLLBACK")  # a read-only snapshot: nothing to commit
        except Exception:  # a dead connection must not hide why the dump failed
            pass
    return result


def raw_connection(host: str, port: int, user: str, password: str, database: str, **options: Any) -> Any:
    """A connection whose results are the server's bytes, unconverted (see the module doc)."""
    import MySQLdb

    options.setdefault("connect_timeout", 30)  # an unreachable source fails the publish, not hangs it
    return MySQLdb.connect(host=host, port=port, user=user, password=password, database=database,
                           charset="utf8mb4", use_unicode=False, conv={}, autocommit=True,
                           multi_statements=False, local_infile=False, **options)
