"""What landed: rows per layer, the loads behind them and the latest occupancy figures."""

from __future__ import annotations

from typing import Any, Mapping


def _rows(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def collect(conn: Any, schemas: Mapping[str, str]) -> dict[str, Any]:
    layers: dict[str, list[tuple[str, int]]] = {}
    for layer in ("staging", "silver", "gold"):
        tables = [t for (t,) in _rows(conn, "SELECT table_name FROM information_schema.tables "
                                            "WHERE table_schema = %s ORDER BY table_name", (schemas[layer],))]
        layers[layer] = [(t, _rows(conn, f"SELECT COUNT(*) FROM `{schemas[layer]}`.`{t}`")[0][0]) for t in tables]
    loads = _rows(conn, f"SELECT dump_date, status, total_seconds, row_counts, run_id FROM `{schemas['ops']}`.`load_history` "
                        "ORDER BY id DESC LIMIT 5") if layers["staging"] else []
    occupancy = _rows(conn, f"SELECT metric_date, as_of_snapshot_date, is_projection, move_ins, move_outs, "
                            f"occupied_rooms, total_rooms, occupancy_rate FROM `{schemas['gold']}`.`occupancy_daily_metrics` "
                            "WHERE metric_date BETWEEN DATE_SUB(as_of_snapshot_date, INTERVAL 2 DAY) "
                            "AND DATE_ADD(as_of_snapshot_date, INTERVAL 3 DAY) ORDER BY metric_date") \
        if any(t == "occupancy_daily_metrics" for t, _ in layers["gold"]) else []
    activity = _rows(conn, f"SELECT activity_date, new_registrations, move_ins, move_outs, cancellations "
                           f"FROM `{schemas['gold']}`.`daily_activity_summary` ORDER BY activity_date DESC LIMIT 3") \
        if any(t == "daily_activity_summary" for t, _ in layers["gold"]) else []
    return {"layers": layers, "loads": loads, "occupancy": occupancy, "activity": activity}


def render(data: Mapping[str, Any]) -> str:
    out = ["Rows per layer:"]
    for layer, tables in data["layers"].items():
        out.append(f"  {layer}:")
        out.extend(f"    {table:40} {rows:>12,}" for table, rows in tables)
        if not tables:
            out.append("    (empty)")
    out.append("Latest loads (ops.load_history):")
    out.extend(f"  {day}  {status:11} {seconds or 0:6.1f} s  run {run_id}" for day, status, seconds, _, run_id in data["loads"])
    out.append("Daily activity (gold.daily_activity_summary, newest first):")
    out.append("  date        new_reg  move_ins  move_outs  cancellations")
    out.extend(f"  {d}  {r:>7}  {i:>8}  {o:>9}  {c:>13}" for d, r, i, o, c in data["activity"])
    out.append("Occupancy (gold.occupancy_daily_metrics around the as-of snapshot):")
    out.append("  date        as_of       kind        move_ins  move_outs  occupied / total   rate")
    for d, as_of, projected, ins, outs, occ, total, rate in data["occupancy"]:
        kind = "projection" if projected else "actual"
        out.append(f"  {d}  {as_of}  {kind:10}  {ins:>8}  {outs:>9}  {occ:>8} / {total:<6} {float(rate or 0):6.1%}")
    return "\n".join(out)
