"""build_sample_source against a real MariaDB/MySQL server."""

from __future__ import annotations

import os
from datetime import date

import MySQLdb
import pytest

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.sample.generator import generate_tables
from tokyobeta.sample.source import build_sample_source, sample_row_counts

DATABASE = f"{os.environ.get('SCHEMA_PREFIX', 'test_')}sample_gghouse_it"
AS_OF = date(2025, 11, 3)
SCALE = 0.05
SEED = 42


def connect() -> MySQLdb.Connection:
    # autocommit: a read left open in one connection would hold metadata locks that block the
    # other connection's DROP DATABASE.
    return MySQLdb.connect(
        host=os.environ.get("MYSQL_HOST", "127.0.0.1"),
        port=int(os.environ.get("MYSQL_PORT", "3306")),
        user=os.environ.get("MYSQL_ADMIN_USER", "root"),
        passwd=os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        charset="utf8mb4",
        autocommit=True,
    )


@pytest.fixture(scope="module")
def conn():
    connection = connect()
    yield connection
    with connection.cursor() as cursor:
        cursor.execute(f"DROP DATABASE IF EXISTS `{DATABASE}`")
    connection.close()


@pytest.fixture(scope="module")
def built(conn) -> dict[str, int]:
    return build_sample_source(conn, DATABASE, AS_OF, scale=SCALE, seed=SEED)


def checksums(conn, tables) -> dict[str, int]:
    with conn.cursor() as cursor:
        cursor.execute("CHECKSUM TABLE " + ", ".join(f"`{DATABASE}`.`{t}`" for t in tables))
        return {name.split(".", 1)[1]: value for name, value in cursor.fetchall()}


def data_lengths(conn) -> dict[str, int]:
    with conn.cursor() as cursor:
        cursor.execute("SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s", (DATABASE,))
        tables = [name for (name,) in cursor.fetchall()]
        # InnoDB refreshes DATA_LENGTH in the background after a bulk load; on a busy server it
        # still shows the empty table's 16 KiB, so make it current first.
        cursor.execute("ANALYZE TABLE " + ", ".join(f"`{DATABASE}`.`{t}`" for t in tables))
        cursor.fetchall()
        cursor.execute("SELECT TABLE_NAME, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s",
                       (DATABASE,))
        return {name: int(length) for name, length in cursor.fetchall()}


def test_row_counts_match_the_generator(conn, built):
    expected = {name: sum(1 for _ in table.rows)
                for name, table in generate_tables(AS_OF, scale=SCALE, seed=SEED).items()}
    assert built == expected
    assert sample_row_counts(conn, DATABASE) == expected
    assert set(TABLE_NAMES) < set(expected)
    assert all(expected[name] > 0 for name in expected)


def test_values_survive_the_round_trip(conn, built):
    tables = generate_tables(AS_OF, scale=SCALE, seed=SEED)
    with conn.cursor() as cursor:
        for name in ("tenants", "movings", "apartments"):
            columns = tables[name].columns
            cursor.execute(f"SELECT {', '.join(columns)} FROM `{DATABASE}`.`{name}` ORDER BY id")
            assert [tuple(row) for row in cursor.fetchall()] == list(tables[name].rows), name
        # Mail bodies carry quotes, backslashes, tabs, newlines, emoji and SQL-looking lines.
        expected_body = next(iter(tables["mail_queue"].rows))[4]
        cursor.execute(f"SELECT body FROM `{DATABASE}`.mail_queue WHERE id = 1")
        assert cursor.fetchone()[0] == expected_body


def test_building_twice_gives_identical_tables(conn, built):
    first = checksums(conn, built)
    assert build_sample_source(conn, DATABASE, AS_OF, scale=SCALE, seed=SEED) == built
    second = checksums(conn, built)
    assert first == second
    assert all(value is not None for value in first.values())


def test_other_tables_dominate_the_data(conn, built):
    lengths = data_lengths(conn)
    contract_bytes = sum(lengths[name] for name in TABLE_NAMES)
    other_bytes = sum(length for name, length in lengths.items() if name not in TABLE_NAMES)
    assert other_bytes > 2 * contract_bytes
    assert "tenants_archive" in lengths


def test_connection_state_is_left_as_it_was(built):
    connection = connect()
    try:
        probe = "SELECT @@SESSION.unique_checks, @@SESSION.foreign_key_checks, @@SESSION.sql_mode, DATABASE()"
        with connection.cursor() as cursor:
            cursor.execute(probe)
            before = cursor.fetchone()
        autocommit = connection.get_autocommit()
        build_sample_source(connection, DATABASE, AS_OF, scale=SCALE, seed=SEED)
        with connection.cursor() as cursor:
            cursor.execute(probe)
            assert cursor.fetchone() == before
        assert connection.get_autocommit() == autocommit
    finally:
        connection.close()
