"""Fixtures of the ingestion tests: a small sample source with its real mariadb-dump, built once."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from support.dumps import DAY, mariadb_dump, row_counts
from tokyobeta import settings


@dataclass(frozen=True)
class SampleDump:
    database: str
    data: bytes
    counts: dict[str, int]


@pytest.fixture(scope="session")
def admin_session():
    from tokyobeta.io import mysql

    conn = mysql.connect(params={
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
        "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def sample_dump(admin_session) -> SampleDump:
    from tokyobeta.sample.source import build_sample_source

    database = settings.Settings().schema("ingest_gghouse")
    build_sample_source(admin_session, database, DAY, scale=0.02, seed=11, other_mb=1.0)
    yield SampleDump(database, mariadb_dump(database), row_counts(admin_session, database))
    with admin_session.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
