"""`tokyobeta reconcile`: our move-ins and move-outs of a month next to an outside report's
(the operator's own figures, transform/external_report.py), the difference explained by cause.

Each cause is an alternative counting rule applied to OUR data (silver snapshots and events,
include/sql/reconcile/): the tenant-rooms it would count differently from our rule. A tenant-room
changed by a cause is attributed to the FIRST adopted cause in CAUSES order that changes it,
never to two, so per metric: ours + sum(cause counts) = derived, and theirs - derived is the
remainder, reported as it is. Snapshot lag is a fact, not a choice (the report cannot know what
happened after it), so it is adopted whenever --as-of-report allows it; of the other causes,
the subset adopted is the one that brings the derived figures closest to the report (sum of
absolute differences over the report's days, or its month, both metrics), fewest causes and
then the earliest in CAUSES order on a tie. Everything above "the database side" is pure
(tests/unit/test_reconcile_report.py)."""

from __future__ import annotations

import calendar
import itertools
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Iterable, Mapping

from tokyobeta import sqlfiles
from tokyobeta.transform.external_report import METRICS, ExternalReport

_SQL = Path("sql") / "reconcile"

# The order causes are tried in; README "Reconciliation against an outside report" says why.
CAUSES = ("snapshot_lag", "cancellations", "moveout_plans_date", "renewals", "transfers", "status_semantics")
LABELS = {
    "snapshot_lag": "snapshot lag: counted as of the snapshot nearest the report's time, not our as-of snapshot",
    "cancellations": "cancellations included: contracts later cancelled counted as move-ins",
    "moveout_plans_date": "moveout_plans_date instead of moveout_date: a move-out counted on its planned day",
    "renewals": "renewals counted as move-ins (a re-contract on the same room)",
    "transfers": "transfers not counted: a tenant moving between two of our rooms is neither a move-in nor a move-out",
    "status_semantics": "status semantics: a past event counted only once the status shows it "
                        "(move-in: resident 6,7 or moved out 9, not upcoming 4,5; move-out: 9)",
}
FORCED = frozenset({"snapshot_lag"})
TEXT_IDS = 20   # tenant-rooms shown per cause in the text output; --json has them all

Key = tuple[int, int]                 # (tenant_id, room_id)


@dataclass(frozen=True)
class Moves:
    """One counting of the month: per metric, tenant-room -> the day it is counted on.
    `extra`: further days our rule counts the same tenant-room on (a move-in date changed after
    it was counted); they stay in ours and no cause touches them."""
    days: Mapping[str, Mapping[Key, date]]
    extra: Mapping[str, tuple[date, ...]]


def month_bounds(month: date) -> tuple[date, date]:
    first = month.replace(day=1)
    return first, first.replace(day=calendar.monthrange(first.year, first.month)[1])


def moves_from_rows(rows: Iterable[tuple]) -> tuple[Moves, dict[str, set[Key]]]:
    """(metric, tenant_id, room_id, day, kind, confirmed) rows -> Moves, plus per metric the
    past (actual) events whose status does not show them yet."""
    days: dict[str, dict[Key, date]] = {m: {} for m in METRICS}
    extra: dict[str, list[date]] = {m: [] for m in METRICS}
    unconfirmed: dict[str, set[Key]] = {m: set() for m in METRICS}
    for metric, tenant_id, room_id, day, kind, confirmed in sorted(rows, key=lambda r: (r[0], r[3], r[1], r[2])):
        metric = "move_ins" if metric == "move_in" else "move_outs"
        key = (int(tenant_id), int(room_id))
        if key in days[metric]:
            extra[metric].append(day)
            continue
        days[metric][key] = day
        if kind == "actual" and not confirmed:
            unconfirmed[metric].add(key)
    return Moves(days, {m: tuple(v) for m, v in extra.items()}), unconfirmed


def alternatives(ours: Moves, *, lag: Moves | None, cancelled: Iterable[tuple], renewals: Iterable[tuple],
                 moveout_plans: Iterable[tuple], transfers: Iterable[tuple], unconfirmed: Mapping[str, set[Key]],
                 first: date, last: date) -> dict[str, dict[str, dict[Key, date | None]]]:
    """Per cause and metric: the tenant-rooms the cause counts differently, and the day it
    counts them on (None: not at all in the month)."""
    def diff(metric: str, theirs: Mapping[Key, date | None]) -> dict[Key, date | None]:
        return {k: d for k, d in theirs.items() if ours.days[metric].get(k) != d}

    def added(metric: str, rows: Iterable[tuple]) -> dict[Key, date | None]:
        return diff(metric, {(int(t), int(r)): d for t, r, d in rows if (int(t), int(r)) not in ours.days[metric]})

    out: dict[str, dict[str, dict[Key, date | None]]] = {c: {m: {} for m in METRICS} for c in CAUSES}
    if lag is not None:
        for metric in METRICS:
            keys = set(ours.days[metric]) | set(lag.days[metric])
            out["snapshot_lag"][metric] = diff(metric, {k: lag.days[metric].get(k) for k in keys})
    out["cancellations"]["move_ins"] = added("move_ins", cancelled)
    out["renewals"]["move_ins"] = added("move_ins", renewals)
    out["moveout_plans_date"]["move_outs"] = diff(
        "move_outs", {(int(t), int(r)): (d if first <= d <= last else None) for t, r, d in moveout_plans})
    for tenant_id, old_room, new_room in transfers:
        for metric, room in (("move_ins", new_room), ("move_outs", old_room)):
            key = (int(tenant_id), int(room))
            if key in ours.days[metric]:
                out["transfers"][metric][key] = None
    for metric in METRICS:
        out["status_semantics"][metric] = {k: None for k in unconfirmed.get(metric, ())}
    return out


def _bucket(day: date, granularity: str) -> date:
    return day if granularity == "day" else day.replace(day=1)


def _counts(days: Iterable[date], scope: set[date], granularity: str) -> dict[date, int]:
    out: dict[date, int] = {}
    for d in days:
        if d in scope:
            out[_bucket(d, granularity)] = out.get(_bucket(d, granularity), 0) + 1
    return out


def _apply(ours: Moves, alts: Mapping[str, Mapping[str, Mapping[Key, date | None]]], adopted: Iterable[str]
           ) -> tuple[dict[str, dict[Key, date]], dict[str, dict[str, dict[Key, tuple[date | None, date | None]]]]]:
    """The derived counting under the adopted causes (first cause in CAUSES order wins a
    tenant-room), and what each cause changed: {cause: {metric: {key: (ours_day, theirs_day)}}}."""
    adopted = set(adopted)
    derived = {m: dict(ours.days[m]) for m in METRICS}
    changed: dict[str, dict[str, dict[Key, tuple[date | None, date | None]]]] = {c: {m: {} for m in METRICS} for c in CAUSES}
    for metric in METRICS:
        touched: set[Key] = set()
        for cause in CAUSES:
            if cause not in adopted:
                continue
            for key, day in sorted(alts[cause][metric].items()):
                if key in touched:
                    continue
                touched.add(key)
                changed[cause][metric][key] = (ours.days[metric].get(key), day)
                if day is None:
                    derived[metric].pop(key, None)
                else:
                    derived[metric][key] = day
    return derived, changed


def _effect(rows: Mapping[Key, tuple[date | None, date | None]], scope: set[date]) -> int:
    """Net change of the compared count: +1 for a tenant-room it starts counting, -1 for one it stops."""
    return sum((t is not None and t in scope) - (o is not None and o in scope) for o, t in rows.values())


def _distance(derived: Mapping[str, Mapping[Key, date]], extra: Mapping[str, tuple[date, ...]],
              theirs: Mapping[str, Mapping[date, int]], scope: set[date], granularity: str) -> int:
    total = 0
    for metric, reported in theirs.items():
        counts = _counts([*derived[metric].values(), *extra[metric]], scope, granularity)
        total += sum(abs(n - counts.get(period, 0)) for period, n in reported.items())
    return total


def attribute(ours: Moves, alts: Mapping[str, Mapping[str, Mapping[Key, date | None]]],
              theirs: Mapping[str, Mapping[date, int]], scope: set[date], granularity: str,
              lag_evaluated: bool) -> dict[str, Any]:
    """Choose the causes (FORCED ones always, when evaluated) and attribute: per metric ours,
    theirs, each cause's count and tenant-rooms, and the remainder; totals add up exactly."""
    optional = [c for c in CAUSES if c not in FORCED and any(alts[c][m] for m in theirs)]
    forced = [c for c in CAUSES if c in FORCED and lag_evaluated]
    best = None
    for size in range(len(optional) + 1):
        for subset in itertools.combinations(optional, size):
            derived, _ = _apply(ours, alts, [*forced, *subset])
            rank = (_distance(derived, ours.extra, theirs, scope, granularity), size,
                    tuple(CAUSES.index(c) for c in subset))
            if best is None or rank < best[0]:
                best = (rank, [*forced, *subset])
    adopted = best[1]
    derived, changed = _apply(ours, alts, adopted)
    metrics = {}
    for metric, reported in theirs.items():
        ours_total = sum(_counts([*ours.days[metric].values(), *ours.extra[metric]], scope, granularity).values())
        derived_total = sum(_counts([*derived[metric].values(), *ours.extra[metric]], scope, granularity).values())
        theirs_total = sum(reported.values())
        causes = []
        for cause in CAUSES:
            is_adopted = cause in adopted
            alone = {k: (ours.days[metric].get(k), d) for k, d in alts[cause][metric].items()}
            rows = changed[cause][metric] if is_adopted else alone
            causes.append({
                "cause": cause, "label": LABELS[cause], "adopted": is_adopted,
                "count": _effect(rows, scope) if is_adopted else 0,
                # what the cause would change on its own, adopted or not: shows why one was rejected
                "alone": _effect(alone, scope),
                "already_attributed": 0 if is_adopted else sum(
                    any(k in changed[c][metric] for c in adopted) for k in alone),
                "tenant_rooms": [{"tenant_id": k[0], "room_id": k[1],
                                  "ours": o.isoformat() if o else None, "theirs": t.isoformat() if t else None}
                                 for k, (o, t) in sorted(rows.items())],
            })
        explained = sum(c["count"] for c in causes)
        metrics[metric] = {"ours": ours_total, "theirs": theirs_total, "difference": theirs_total - ours_total,
                           "causes": causes, "explained": explained, "derived": derived_total,
                           "remainder": theirs_total - derived_total}
        if ours_total + explained != derived_total:  # the attribution's invariant; never papered over
            raise RuntimeError(f"{metric}: ours {ours_total} + causes {explained} != derived {derived_total}")
    return {"adopted": adopted, "metrics": metrics,
            "derived_counts": {m: _counts([*derived[m].values(), *ours.extra[m]], scope, granularity) for m in theirs},
            "our_counts": {m: _counts([*ours.days[m].values(), *ours.extra[m]], scope, granularity) for m in theirs},
            "distance": best[0][0]}


def report_snapshot(report_time: datetime | None, snapshots: Iterable[date]) -> date | None:
    """The snapshot nearest the report's time that the report could have seen: the latest one
    dated on or before the report's day (JST)."""
    if report_time is None:
        return None
    seen = [d for d in snapshots if d <= report_time.date()]
    return max(seen) if seen else None


# --- the database side -------------------------------------------------------------------

def _rows(conn: Any, sql: str, args: Any = None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return [tuple(r) for r in cur.fetchall()]


def _query(conn: Any, name: str, schemas: Mapping[str, str], include_dir: Path, args: Mapping[str, Any]) -> list[tuple]:
    return _rows(conn, sqlfiles.render(include_dir / _SQL / f"{name}.sql", schemas), dict(args))


def reconcile(conn: Any, schemas: Mapping[str, str], include_dir: Path, month: date, external: ExternalReport,
              report_time: datetime | None) -> dict[str, Any]:
    """Ours (the rows behind `tokyobeta kpi --month`) vs the report's figures of `month`, the
    difference attributed by cause. report_time (naive JST) enables the snapshot-lag cause."""
    from tokyobeta.transform import kpi

    first, last = month_bounds(month)
    external = external.for_month(month)
    ours_report = kpi.month_report(conn, schemas, include_dir, month)
    as_of = date.fromisoformat(ours_report["as_of_snapshot_date"])
    silver = schemas["silver"]
    snapshots = [d for (d,) in _rows(conn, f"SELECT DISTINCT snapshot_date FROM `{silver}`.`tenant_room_snapshot_daily` "
                                           "WHERE snapshot_date <= %s", (as_of,))]
    window = {"first_day": first, "last_day": last, "as_of": as_of}
    ours, unconfirmed = moves_from_rows(_query(conn, "moves_as_of", schemas, include_dir, window))
    _check_same_rule(ours, ours_report)

    notes = []
    lag_snapshot = report_snapshot(report_time, snapshots)
    lag = None
    if report_time is None:
        notes.append("snapshot lag not evaluated: give the report's time with --as-of-report 'YYYY-MM-DD HH:MM' (JST)")
    elif lag_snapshot is None:
        notes.append(f"snapshot lag not evaluated: no snapshot on or before the report's day {report_time:%Y-%m-%d}")
    elif report_time.date() > as_of:
        notes.append(f"the report ({report_time:%Y-%m-%d %H:%M}) is newer than our as-of snapshot {as_of}: what changed "
                     "after it is not in our data and can only show in the remainder")
    elif lag_snapshot < as_of:
        lag, _ = moves_from_rows(_query(conn, "moves_as_of", schemas, include_dir, {**window, "as_of": lag_snapshot}))

    alts = alternatives(
        ours, lag=lag, unconfirmed=unconfirmed, first=first, last=last,
        cancelled=_query(conn, "cancelled_move_ins", schemas, include_dir, window),
        renewals=_query(conn, "renewal_move_ins", schemas, include_dir, window),
        moveout_plans=_query(conn, "moveout_plans", schemas, include_dir, window),
        transfers=_query(conn, "transfers", schemas, include_dir, window))
    if external.granularity == "day":
        scope = set(external.rows)
        if len(scope) < (last - first).days + 1:
            notes.append(f"the report lists {len(scope)} of the month's {(last - first).days + 1} days: "
                         "only those days are compared")
    else:
        scope = {first + timedelta(days=n) for n in range((last - first).days + 1)}
    no_snapshot = sorted(set(ours_report["days_without_snapshot"]) & {d.isoformat() for d in scope})
    if no_snapshot:
        notes.append(f"we have no snapshot of {_ranges(no_snapshot)}: their figures for those days can only show "
                     "in the remainder")
    theirs = {m: {p: v[m] for p, v in external.rows.items()} for m in external.metrics}
    result = attribute(ours, alts, theirs, scope, external.granularity, lag is not None)

    kinds = {d["date"]: d["kind"] for d in ours_report["days"]}
    periods = sorted(external.rows)
    rows = [{"period": p.isoformat() if external.granularity == "day" else f"{p:%Y-%m}",
             "kind": kinds.get(p.isoformat()) if external.granularity == "day" else None,
             **{m: {"ours": result["our_counts"][m].get(p, 0), "theirs": theirs[m][p],
                    "derived": result["derived_counts"][m].get(p, 0)} for m in external.metrics}}
            for p in periods]
    return {"month": f"{first:%Y-%m}", "as_of_snapshot_date": as_of.isoformat(),
            "report": {"file": external.path, "granularity": external.granularity, "metrics": list(external.metrics),
                       "as_of_report": report_time.strftime("%Y-%m-%d %H:%M") if report_time else None,
                       "report_snapshot_date": lag_snapshot.isoformat() if lag_snapshot else None,
                       "ignored_columns": external.ignored_columns},
            "adopted_causes": result["adopted"], "metrics": result["metrics"], "periods": rows, "notes": notes}


def _ranges(days: list[str]) -> str:
    """'2026-04-01..2026-04-09, 2026-04-13' for sorted ISO days."""
    spans: list[list[date]] = []
    for day in map(date.fromisoformat, days):
        if spans and day - spans[-1][1] == timedelta(days=1):
            spans[-1][1] = day
        else:
            spans.append([day, day])
    return ", ".join(a.isoformat() if a == b else f"{a}..{b}" for a, b in spans)


def _check_same_rule(ours: Moves, month_report: Mapping[str, Any]) -> None:
    """The rows behind our figures must add up to `tokyobeta kpi --month` day by day: one rule."""
    for day in month_report["days"]:
        for metric in METRICS:
            rows = sum(1 for d in [*ours.days[metric].values(), *ours.extra[metric]] if d.isoformat() == day["date"])
            if (day[metric] or 0) != rows:
                raise RuntimeError(f"reconcile/moves_as_of.sql finds {rows} {metric} on {day['date']} but `tokyobeta kpi` "
                                   f"counts {day[metric]}: the two SQL files count by different rules; align them")


def render(result: Mapping[str, Any]) -> str:
    rep = result["report"]
    metrics = rep["metrics"]
    out = [f"Reconciliation of {result['month']}: ours (as of snapshot {result['as_of_snapshot_date']}) "
           f"vs {rep['file']} ({'per day' if rep['granularity'] == 'day' else 'month total'}"
           + (f", made {rep['as_of_report']} JST, nearest snapshot {rep['report_snapshot_date'] or 'none'}"
              if rep["as_of_report"] else "") + ")", ""]
    head = "  ".join(f"{m + ' ours':>14} {'theirs':>6} {'derived':>7}" for m in metrics)
    out.append(f"  {'period':10}  {'kind':10}  {head}")
    for row in result["periods"]:
        cells = "  ".join(f"{row[m]['ours']:>14} {row[m]['theirs']:>6} {row[m]['derived']:>7}" for m in metrics)
        out.append(f"  {row['period']:10}  {row['kind'] or '':10}  {cells}")
    cells = "  ".join(f"{result['metrics'][m]['ours']:>14} {result['metrics'][m]['theirs']:>6} "
                      f"{result['metrics'][m]['derived']:>7}" for m in metrics)
    out.append(f"  {'total':10}  {'':10}  {cells}")
    for metric in metrics:
        m = result["metrics"][metric]
        out += ["", f"{metric}: ours {m['ours']}, theirs {m['theirs']}, difference {m['difference']:+d} (theirs - ours)"]
        for c in m["causes"]:
            if c["adopted"] and c["tenant_rooms"]:
                ids = ", ".join(f"T{r['tenant_id']}/R{r['room_id']} ({r['ours'] or '-'} -> {r['theirs'] or '-'})"
                                for r in c["tenant_rooms"][:TEXT_IDS])
                if len(c["tenant_rooms"]) > TEXT_IDS:
                    ids += f" and {len(c['tenant_rooms']) - TEXT_IDS} more (--json lists every one)"
                out.append(f"  {c['count']:+4d}  {c['cause']:18}  {ids}")
            elif not c["adopted"] and c["tenant_rooms"]:
                n = len(c["tenant_rooms"])
                taken = f"; {c['already_attributed']} already explained by an adopted cause" if c["already_attributed"] else ""
                out.append(f"     -  {c['cause']:18}  not adopted (alone it would change ours by {c['alone']:+d}, "
                           f"{n} tenant-room{'s' if n != 1 else ''}{taken})")
        out.append(f"  {m['remainder']:+4d}  {'unexplained':18}  (theirs {m['theirs']} - ours {m['ours']} "
                   f"- explained {m['explained']:+d})")
    out += ["", "Causes adopted (tried in this order; T<tenant>/R<room> (our day -> theirs), '-': not counted):"]
    out += [f"  {c:18}  {LABELS[c]}" for c in CAUSES if c in result["adopted_causes"]] or ["  none"]
    out += [f"Note: {n}" for n in result["notes"]]
    return "\n".join(out)
