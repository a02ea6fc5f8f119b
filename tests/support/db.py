"""Database helpers shared by the tests."""

from __future__ import annotations

from typing import Any


def checksums(conn, schema: str) -> dict[str, int]:
    """CHECKSUM TABLE of every table in a schema: equal checksums, equal contents."""
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s "
                    "AND table_type = 'BASE TABLE' ORDER BY table_name", (schema,))
        tables = [t for (t,) in cur.fetchall()]
        out = {}
        for table in tables:
            cur.execute(f"CHECKSUM TABLE `{schema}`.`{table}`")
            out[table] = cur.fetchone()[1]
        return out


def count(conn, sql: str, args: Any = None) -> int:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return int(cur.fetchone()[0])
