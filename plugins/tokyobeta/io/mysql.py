"""Connections to the warehouse. Credentials come from the Airflow connection (env var
locally, secrets backend on MWAA), never from code."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

import MySQLdb


def connect_params(conn_id: str) -> dict[str, Any]:
    from tokyobeta.io import connections

    conn = connections.from_environment(conn_id)
    if conn is None:
        from airflow.hooks.base import BaseHook

        conn = BaseHook.get_connection(conn_id)
    return {
        "host": conn.host or "127.0.0.1",
        "port": int(conn.port or 3306),
        "user": conn.login,
        "password": conn.password or "",
    }


def connect(conn_id: str | None = None, *, params: dict[str, Any] | None = None,
            database: str | None = None, **options: Any) -> MySQLdb.connections.Connection:
    params = params if params is not None else connect_params(conn_id or "tokyobeta_mysql")
    conn = MySQLdb.connect(
        host=params["host"], port=params["port"], user=params["user"],
        password=params.get("password", ""), database=database or "",
        charset="utf8mb4", use_unicode=True, autocommit=True,
        # mysqlclient turns multi-statements ON unless told otherwise; a dump line must never
        # be able to smuggle a second statement, so every connection has them off.
        multi_statements=False, local_infile=False, **options,
    )
    return conn


@contextmanager
def connection(conn_id: str | None = None, **kwargs: Any) -> Iterator[MySQLdb.connections.Connection]:
    conn = connect(conn_id, **kwargs)
    try:
        yield conn
    finally:
        conn.close()


def query(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def execute(conn: Any, sql: str, args: Any = None) -> int:
    with conn.cursor() as cur:
        return cur.execute(sql, args)
