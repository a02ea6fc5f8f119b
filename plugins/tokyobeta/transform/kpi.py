"""gold.occupancy_daily_metrics: the KPI upsert that runs after dbt gold."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from tokyobeta import sqlfiles


def upsert(conn: Any, schemas: Mapping[str, str], include_dir: Path, lookback_days: int,
           forward_days: int) -> dict[str, Any]:
    if lookback_days < 0 or forward_days < 0:
        raise ValueError(f"KPI window must not be negative (lookback={lookback_days}, forward={forward_days})")
    sql_dir = include_dir / "sql" / "kpi"
    sqlfiles.run_file(conn, sql_dir / "occupancy_daily_metrics_ddl.sql", schemas)
    sqlfiles.run_file(conn, sql_dir / "upsert_occupancy_daily_metrics.sql", schemas,
                      {"lookback": lookback_days, "forward": forward_days})
    with conn.cursor() as cur:
        cur.execute(f"SELECT MAX(snapshot_date) FROM `{schemas['silver']}`.`tenant_room_snapshot_daily`")
        (as_of,) = cur.fetchone()
        cur.execute(f"SELECT COUNT(*) FROM `{schemas['gold']}`.`occupancy_daily_metrics` "
                    "WHERE as_of_snapshot_date = %s", (as_of,))
        (rows,) = cur.fetchone()
    if as_of is None:
        raise RuntimeError(f"{schemas['silver']}.tenant_room_snapshot_daily is empty: no snapshot to anchor KPIs on")
    return {"as_of_snapshot_date": as_of.isoformat(), "rows_upserted": rows,
            "window": [lookback_days, forward_days]}
