"""Build the sample source database in a MySQL/MariaDB server.

`build_sample_source` drops and recreates a database, creates the tables from
include/sql/sample/gghouse_schema.sql and bulk-inserts the generated rows with multi-row
INSERTs. It takes a MySQLdb connection (no Airflow, no boto3) so tests, the CLI and DAG tasks
can all call it.
"""

from __future__ import annotations

import os
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterable

from tokyobeta.sample.generator import Table, generate_tables

SCHEMA_FILE = Path("sql") / "sample" / "gghouse_schema.sql"

_DATABASE_NAME = re.compile(r"^[A-Za-z0-9_]{1,64}$")
_CREATE_TABLE = re.compile(r"^CREATE TABLE `(\w+)`", re.MULTILINE)
# Upper bound of one INSERT in characters. utf-8 makes bytes up to 4x that, which must also
# stay under the server's max_allowed_packet (checked at load time).
_MAX_STATEMENT_CHARS = 2_000_000
# A strict mode so a value that does not fit fails loudly, and without NO_BACKSLASH_ESCAPES
# because the literals below escape with backslashes.
_LOAD_SQL_MODE = "STRICT_TRANS_TABLES,NO_ENGINE_SUBSTITUTION"


def include_dir() -> Path:
    """The repository's include/ directory (override with TOKYOBETA_INCLUDE_DIR)."""
    override = os.environ.get("TOKYOBETA_INCLUDE_DIR")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[3] / "include"


def schema_statements(path: Path | None = None) -> list[str]:
    """The schema file split into single statements (a statement ends at a line ending in ';')."""
    text = (path or include_dir() / SCHEMA_FILE).read_text(encoding="utf-8")
    statements, current = [], []
    for line in text.splitlines():
        current.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(current))
            current = []
    if any(line.strip() and not line.lstrip().startswith("--") for line in current):
        raise ValueError("schema file ends with an unterminated statement")
    return statements


def _quote_name(name: str) -> str:
    if not _DATABASE_NAME.match(name):
        raise ValueError(f"unsafe identifier: {name!r}")
    return f"`{name}`"


def in_database(statement: str, database: str) -> str:
    """Point a schema statement at `database`, so the connection's default database is
    never changed."""
    qualified, found = _CREATE_TABLE.subn(lambda m: f"CREATE TABLE {_quote_name(database)}.`{m[1]}`", statement)
    if found != 1:
        raise ValueError(f"schema statement is not one CREATE TABLE: {statement[:80]!r}")
    return qualified


def sql_literal(value: Any) -> str:
    """A value as a MySQL literal (backslash escaping, default sql_mode)."""
    if value is None:
        return "NULL"
    kind = type(value)
    if kind is str:
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if kind is int or kind is Decimal:
        return str(value)
    if kind is datetime:
        return "'" + value.isoformat(" ") + "'"
    if kind is date:
        return "'" + value.isoformat() + "'"
    raise TypeError(f"no SQL literal for {kind.__name__}")


def insert_statements(table: str, columns: Iterable[str], rows: Iterable[tuple], database: str | None = None,
                      max_chars: int = _MAX_STATEMENT_CHARS) -> Iterable[tuple[str, int]]:
    """Multi-row INSERT statements for `rows`, each with the number of rows it holds."""
    target = f"{_quote_name(database)}.{_quote_name(table)}" if database else _quote_name(table)
    head = f"INSERT INTO {target} ({','.join(map(_quote_name, columns))}) VALUES "
    batch: list[str] = []
    size = len(head)
    for row in rows:
        values = "(" + ",".join(map(sql_literal, row)) + ")"
        if batch and size + len(values) + 1 > max_chars:
            yield head + ",".join(batch), len(batch)
            batch, size = [], len(head)
        batch.append(values)
        size += len(values) + 1
    if batch:
        yield head + ",".join(batch), len(batch)


def _session_value(cursor, expression: str) -> Any:
    cursor.execute(f"SELECT {expression}")
    return cursor.fetchone()[0]


def _load(conn, database: str, tables: dict[str, Table]) -> dict[str, int]:
    counts: dict[str, int] = {}
    cursor = conn.cursor()
    max_chars = min(_MAX_STATEMENT_CHARS, int(_session_value(cursor, "@@max_allowed_packet")) // 4 - 1024)
    for name, table in tables.items():
        counts[name] = 0
        for statement, rows in insert_statements(name, table.columns, table.rows, database, max_chars):
            cursor.execute(statement)
            counts[name] += rows
        conn.commit()
    cursor.close()
    return counts


def build_sample_source(conn, database: str, as_of: date, scale: float = 1.0, seed: int = 42,
                        other_mb: float | None = None) -> dict[str, int]:
    """(Re)create `database` holding the sample source at the end of `as_of`.

    Returns the number of rows inserted per table. The connection's character set is switched
    to utf8mb4 (the data has 4-byte characters); its session settings and autocommit mode are
    restored afterwards, and its default database is left alone.
    """
    quoted = _quote_name(database)
    statements = [in_database(statement, database) for statement in schema_statements()]
    tables = generate_tables(as_of, scale=scale, seed=seed, other_mb=other_mb)
    conn.set_character_set("utf8mb4")
    cursor = conn.cursor()
    saved = {name: _session_value(cursor, f"@@SESSION.{name}")
             for name in ("unique_checks", "foreign_key_checks", "sql_mode")}
    autocommit = conn.get_autocommit()
    try:
        cursor.execute(f"DROP DATABASE IF EXISTS {quoted}")
        cursor.execute(f"CREATE DATABASE {quoted} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for statement in statements:
            cursor.execute(statement)
        cursor.execute(f"SET SESSION unique_checks = 0, foreign_key_checks = 0, sql_mode = '{_LOAD_SQL_MODE}'")
        conn.autocommit(False)
        return _load(conn, database, tables)
    finally:
        conn.rollback()
        conn.autocommit(autocommit)
        cursor.execute("SET SESSION unique_checks = %s, foreign_key_checks = %s, sql_mode = %s",
                       (saved["unique_checks"], saved["foreign_key_checks"], saved["sql_mode"]))
        cursor.close()


def sample_row_counts(conn, database: str) -> dict[str, int]:
    """Exact row counts of every table in `database`."""
    quoted = _quote_name(database)
    cursor = conn.cursor()
    try:
        cursor.execute(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s "
            "AND TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_NAME", (database,))
        names = [row[0] for row in cursor.fetchall()]
        counts = {}
        for name in names:
            cursor.execute(f"SELECT COUNT(*) FROM {quoted}.{_quote_name(name)}")
            counts[name] = int(cursor.fetchone()[0])
        return counts
    finally:
        cursor.close()
