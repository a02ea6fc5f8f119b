"""gold.occupancy_daily_metrics: the KPI upsert that runs after dbt gold, and the month report
an analyst reconciles against (`tokyobeta kpi --month`). Both anchor at as_of =
MAX(snapshot_date) of silver, never at the wall clock: snapshots can lag."""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Mapping

from tokyobeta import sqlfiles
from tokyobeta.ops.history import add_column_if_missing

_SQL = Path("sql") / "kpi"


def _rows(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def latest_snapshot_date(conn: Any, schemas: Mapping[str, str]) -> date:
    (as_of,), = _rows(conn, f"SELECT MAX(snapshot_date) FROM `{schemas['silver']}`.`tenant_room_snapshot_daily`")
    if as_of is None:
        raise RuntimeError(f"{schemas['silver']}.tenant_room_snapshot_daily is empty: no snapshot to anchor KPIs on")
    return as_of


def live_publication(conn: Any, schema: str) -> int | None:
    """The publication a layer's schema holds now: its one-row `publication` marker, which the
    publish step swaps in with the layer. None when the schema has no marker (dbt run without
    write-audit-publish)."""
    if not _rows(conn, "SELECT 1 FROM information_schema.tables WHERE table_schema = %s AND table_name = 'publication'",
                 (schema,)):
        return None
    found = _rows(conn, f"SELECT publication_id FROM `{schema}`.`publication`")
    if len(found) != 1:
        raise RuntimeError(f"{schema}.publication holds {len(found)} rows, not one: the publish step writes exactly "
                           "one; rebuild the layer (clear its dbt task group) to repair it")
    return None if found[0][0] is None else int(found[0][0])


def _with_projected_moves(schemas: Mapping[str, str], include_dir: Path) -> dict[str, str]:
    """Schemas plus ${projected_moves}: the one projection rule, embedded where it is used."""
    return {**schemas, "projected_moves": sqlfiles.render(include_dir / _SQL / "projected_moves.sql", schemas)}


def upsert(conn: Any, schemas: Mapping[str, str], include_dir: Path, lookback_days: int,
           forward_days: int) -> dict[str, Any]:
    """Recompute [as_of - lookback, as_of + forward] and apply it in one transaction."""
    if lookback_days < 0 or forward_days < 0:
        raise ValueError(f"KPI window must not be negative (lookback={lookback_days}, forward={forward_days}): "
                         "set KPI_LOOKBACK_DAYS / KPI_FORWARD_DAYS to 0 or more")
    sql_dir = include_dir / _SQL
    sqlfiles.run_file(conn, sql_dir / "occupancy_daily_metrics_ddl.sql", schemas)
    add_column_if_missing(conn, schemas["gold"], "occupancy_daily_metrics", "gold_publication_id",
                          "BIGINT UNSIGNED NULL COMMENT 'ops.publications.id of the gold the row was computed from'")
    as_of = latest_snapshot_date(conn, schemas)
    if not _rows(conn, f"SELECT 1 FROM `{schemas['gold']}`.`daily_activity_summary` WHERE activity_date = %s", (as_of,)):
        raise RuntimeError(f"{schemas['gold']}.daily_activity_summary has no row for the latest snapshot {as_of}: "
                           "dbt gold must build that day before the KPIs are upserted")
    publication = live_publication(conn, schemas["gold"])
    window = {"as_of": as_of, "first_day": as_of - timedelta(days=lookback_days),
              "last_day": as_of + timedelta(days=forward_days), "gold_publication_id": publication}
    sqlfiles.run_file(conn, sql_dir / "occupancy_daily_metrics_window.sql", _with_projected_moves(schemas, include_dir),
                      window)
    computed = dict(_rows(conn, f"SELECT is_projection, COUNT(*) FROM `{schemas['gold']}`.`occupancy_daily_metrics__window` "
                                "GROUP BY is_projection"))
    conn.autocommit(False)
    try:
        sqlfiles.run_file(conn, sql_dir / "upsert_occupancy_daily_metrics.sql", schemas, window)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit(True)
    return {"as_of_snapshot_date": as_of.isoformat(), "first_day": window["first_day"].isoformat(),
            "last_day": window["last_day"].isoformat(), "actual_rows": int(computed.get(0, 0)),
            "projected_rows": int(computed.get(1, 0)), "gold_publication_id": publication}


def month_report(conn: Any, schemas: Mapping[str, str], include_dir: Path, month: date) -> dict[str, Any]:
    """Move-ins and move-outs of a calendar month: per day, per contract type and in total.
    Days up to as_of come from their own snapshot (silver.tenant_room_events_daily, what
    gold.daily_activity_summary counts); later days are projected from the as_of snapshot with
    the KPI upsert's rule. A past day without a snapshot is reported as such, not as zero."""
    first = month.replace(day=1)
    last = month.replace(day=calendar.monthrange(month.year, month.month)[1])
    as_of = latest_snapshot_date(conn, schemas)
    silver = schemas["silver"]
    labels = {code: (en, ja) for code, en, ja in _rows(
        conn, f"SELECT agreement_type_code, label_en, label_ja FROM `{silver}`.`moving_agreement_type`")}
    snapshot_days = {d for (d,) in _rows(
        conn, f"SELECT DISTINCT snapshot_date FROM `{silver}`.`tenant_room_snapshot_daily` "
              "WHERE snapshot_date BETWEEN %s AND %s", (first, min(last, as_of)))}
    counts: dict[tuple[date, Any], list[int]] = {}
    for day, event, code, n in _rows(
            conn, f"SELECT snapshot_date, event_type, agreement_type_code, COUNT(*) FROM `{silver}`.`tenant_room_events_daily` "
                  "WHERE snapshot_date BETWEEN %s AND %s AND event_type IN ('move_in', 'move_out') "
                  "GROUP BY snapshot_date, event_type, agreement_type_code", (first, min(last, as_of))):
        counts.setdefault((day, code), [0, 0])[0 if event == "move_in" else 1] += int(n)
    if last > as_of:
        projected = sqlfiles.render(include_dir / _SQL / "projected_moves.sql", schemas)
        for day, code, ins, outs in _rows(conn, projected, {"as_of": as_of, "first_day": max(first, as_of + timedelta(days=1)),
                                                            "last_day": last}):
            counts[(day, code)] = [int(ins), int(outs)]

    days = []
    for offset in range((last - first).days + 1):
        day = first + timedelta(days=offset)
        kind = "projection" if day > as_of else "actual" if day in snapshot_days else "no_snapshot"
        by_type = {code: v for (d, code), v in counts.items() if d == day}
        days.append({"date": day.isoformat(), "kind": kind,
                     "move_ins": None if kind == "no_snapshot" else sum(v[0] for v in by_type.values()),
                     "move_outs": None if kind == "no_snapshot" else sum(v[1] for v in by_type.values()),
                     "by_contract_type": {str(code): {"move_ins": v[0], "move_outs": v[1]}
                                          for code, v in sorted(by_type.items(), key=lambda kv: (kv[0] is None, kv[0]))}})
    by_contract_type = []
    for code in sorted({code for _, code in counts}, key=lambda c: (c is None, c)):
        en, ja = labels.get(code, ("(unknown)", "(不明)"))
        by_contract_type.append({"agreement_type_code": code, "label_en": en, "label_ja": ja,
                                 "move_ins": sum(v[0] for (_, c), v in counts.items() if c == code),
                                 "move_outs": sum(v[1] for (_, c), v in counts.items() if c == code)})
    return {"month": f"{first:%Y-%m}", "as_of_snapshot_date": as_of.isoformat(),
            "totals": {"move_ins": sum(v[0] for v in counts.values()), "move_outs": sum(v[1] for v in counts.values())},
            "actual_days": sum(d["kind"] == "actual" for d in days),
            "projected_days": sum(d["kind"] == "projection" for d in days),
            "days_without_snapshot": [d["date"] for d in days if d["kind"] == "no_snapshot"],
            "by_contract_type": by_contract_type, "days": days}


def render_month_report(report: Mapping[str, Any]) -> str:
    out = [f"Move-ins and move-outs for {report['month']}, as of snapshot {report['as_of_snapshot_date']} "
           f"(days up to it counted in their own snapshot, later days projected from it)",
           f"  total: {report['totals']['move_ins']} move-ins, {report['totals']['move_outs']} move-outs "
           f"({report['actual_days']} actual days, {report['projected_days']} projected days, "
           f"{len(report['days_without_snapshot'])} without a snapshot)",
           "", "By contract type:", "  code  contract type                      move_ins  move_outs"]
    for row in report["by_contract_type"]:
        label = f"{row['label_en']} / {row['label_ja']}"
        out.append(f"  {row['agreement_type_code']!s:>4}  {label:32}  {row['move_ins']:>8}  {row['move_outs']:>9}")
    out += ["", "By day:", "  date        kind          move_ins  move_outs  by contract type (code: in/out)"]
    for day in report["days"]:
        if day["kind"] == "no_snapshot":
            out.append(f"  {day['date']}  no snapshot          -          -")
            continue
        detail = "  ".join(f"{code}: {v['move_ins']}/{v['move_outs']}" for code, v in day["by_contract_type"].items())
        out.append(f"  {day['date']}  {day['kind']:12}  {day['move_ins']:>8}  {day['move_outs']:>9}  {detail}")
    return "\n".join(out)
