"""A staging schema built directly, without a dump or the loader: the sample source of a day,
or hand-written fixture rows. For the transformation tests and the dbt benchmark, which need
many days of staging fast; the real path (dump -> manifest -> loader) is covered end to end by
the daily DAG tests. Staging gets what load_staging and enrich would leave: the five contract
tables, dump_info, and the enrichment maps."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from tokyobeta import sqlfiles
from tokyobeta.contract import TABLE_NAMES
from tokyobeta.sample.source import build_sample_source, in_database, insert_statements, schema_statements

_CREATED_TABLE = re.compile(r"^CREATE TABLE `(\w+)`", re.MULTILINE)


def set_dump_date(conn: Any, schemas: Mapping[str, str], include_dir: Path, day: date) -> None:
    """staging.dump_info as load_staging swaps it in (same DDL file)."""
    staging = f"`{schemas['staging']}`"
    sqlfiles.run_file(conn, include_dir / "sql" / "staging" / "dump_info_incoming.sql", schemas,
                      {"dump_date": day, "dump_key": f"fixture/gghouse_{day:%Y%m%d}.sql",
                       "dump_sha256": "0" * 64, "dump_bytes": 0})
    with conn.cursor() as cur:
        cur.execute(f"DROP TABLE IF EXISTS {staging}.`dump_info`")
        cur.execute(f"RENAME TABLE {staging}.`dump_info__incoming` TO {staging}.`dump_info`")


def _ensure_enrichment_tables(conn: Any, schemas: Mapping[str, str], include_dir: Path) -> None:
    sqlfiles.run_file(conn, include_dir / "sql" / "ddl" / "enrichment.sql", schemas)


def build_from_sample(conn: Any, schemas: Mapping[str, str], include_dir: Path, day: date, *,
                      scale: float, seed: int = 42) -> dict[str, int]:
    """The sample source as of `day` as the staging load of dump day `day`, enriched by the
    rules and the offline provider (as the demo does)."""
    from tokyobeta.enrich.providers import OfflineProvider
    from tokyobeta.enrich.run import Enricher

    counts = build_sample_source(conn, schemas["staging"], day, scale=scale, seed=seed, other_mb=0)
    set_dump_date(conn, schemas, include_dir, day)
    Enricher(conn, schemas, include_dir, OfflineProvider(), max_model_calls=0).run()
    return {table: counts[table] for table in TABLE_NAMES}


def load_rows(conn: Any, schemas: Mapping[str, str], include_dir: Path, day: date,
              tables: Mapping[str, tuple[Sequence[str], Iterable[Sequence[Any]]]]) -> None:
    """Replace staging with exactly `tables` ({name: (columns, rows)}): the contract tables are
    created from the sample schema, the maps from the enrichment DDL; a contract table not
    given is created empty."""
    staging = schemas["staging"]
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{staging}`")
        cur.execute(f"CREATE DATABASE `{staging}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for statement in schema_statements():
            created = _CREATED_TABLE.search(statement)
            if created and created[1] in TABLE_NAMES:
                cur.execute(in_database(statement, staging))
    _ensure_enrichment_tables(conn, schemas, include_dir)
    set_dump_date(conn, schemas, include_dir, day)
    with conn.cursor() as cur:
        for name, (columns, rows) in tables.items():
            for statement, _ in insert_statements(name, columns, [tuple(r) for r in rows], staging):
                cur.execute(statement)
    conn.commit()

