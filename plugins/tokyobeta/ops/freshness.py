"""How fresh the warehouse is, as of the freshness check's slot (09:00 JST).

Measured, per table and overall:
  staging.<table>   the dump day staging holds, from ops.load_history (the newest successful load
                    by finish time, so a backfill that reloads an old day makes staging old
                    again). MAX(updated_at) (source DATETIMEs, JST) is shown beside it; it is not
                    the age, because quiet tables (apartments) legitimately go unchanged for weeks.
  silver / gold     the newest day the table holds: snapshot_date, activity_date,
                    as_of_snapshot_date (never metric_date: it projects into the future).
                    tokyo_beta_tenant_room_info has no date column; it is rebuilt before, and
                    read by, tenant_room_snapshot_daily in the same dbt run, so the snapshot's
                    newest day bounds its age from above and is reported for it.
  upstream          the newest *valid* manifest in S3: valid_for_etl and source_valid, and every
                    contract table except inquiries (stale upstream by nature) has rows.
  daily DAG         the slot of its newest successful run (Airflow metadata).
Ages count from 00:00 JST of the day a table holds, so a day loaded at 02:00 is 0.375 days old
at 09:00. A timestamp after the check's slot counts as age 0 (a rerun of an older slot).

Anything that cannot be read fails the caller: a check that quietly skipped what it could not
reach is how the legacy checker missed tables going 8-9 days stale.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, Mapping, Sequence
from zoneinfo import ZoneInfo

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ingest.manifest import Manifest, ManifestError
from tokyobeta.ops import metrics
from tokyobeta.ops.metrics import Datum

TOKYO = ZoneInfo("Asia/Tokyo")
STALE_UPSTREAM_TABLES = frozenset({"inquiries"})
UPSTREAM_TABLES = tuple(t for t in TABLE_NAMES if t not in STALE_UPSTREAM_TABLES)
MANIFEST_LOOKBACK = 45  # manifests examined, newest first, before "no valid manifest" is the answer
_MANIFEST_NAME = re.compile(r"gghouse_(\d{8})\.json$")


@dataclass(frozen=True)
class TableCheck:
    layer: str
    table: str
    as_of: str | None = None        # SQL over `measured_on`; None: the staging load day (ops.load_history)
    measured_on: str | None = None  # another table of the layer whose newest day bounds this one's

    @property
    def name(self) -> str:
        return f"{self.layer}.{self.table}"


TABLE_CHECKS: tuple[TableCheck, ...] = (
    *(TableCheck("staging", table) for table in TABLE_NAMES),
    TableCheck("silver", "tokyo_beta_tenant_room_info", "MAX(snapshot_date)", measured_on="tenant_room_snapshot_daily"),
    TableCheck("silver", "tenant_room_snapshot_daily", "MAX(snapshot_date)"),
    TableCheck("silver", "tenant_room_events_daily", "MAX(snapshot_date)", measured_on="tenant_room_snapshot_daily"),
    TableCheck("gold", "daily_activity_summary", "MAX(activity_date)"),
    TableCheck("gold", "tenant_status_transitions", "MAX(activity_date)", measured_on="daily_activity_summary"),
    TableCheck("gold", "occupancy_by_apartment", "MAX(snapshot_date)"),
    TableCheck("gold", "occupancy_by_municipality", "MAX(snapshot_date)"),
    TableCheck("gold", "occupancy_by_nationality", "MAX(snapshot_date)"),
    TableCheck("gold", "occupancy_daily_metrics", "MAX(as_of_snapshot_date)"),
)


def metric_keys() -> set[metrics.MetricKey]:
    """Every metric a freshness run can publish."""
    return {(metrics.STALENESS_DAYS, (("Table", c.name),)) for c in TABLE_CHECKS} | {
        (metrics.UPSTREAM_AGE_HOURS, ()), (metrics.HOURS_SINCE_LAST_SUCCESS, ())}


@dataclass(frozen=True)
class TableState:
    has_rows: bool
    as_of_day: date | None
    newest_change: datetime | None = None  # staging only: MAX(updated_at), naive JST


@dataclass(frozen=True)
class UpstreamState:
    manifest: Manifest | None
    skipped: tuple[str, ...] = ()  # newer manifests passed over, with why


@dataclass(frozen=True)
class Observation:
    as_of: datetime
    tables: Mapping[str, TableState]
    upstream: UpstreamState
    last_success: datetime | None


@dataclass(frozen=True)
class Limits:
    staleness_days: float
    upstream_max_age_hours: float
    max_hours_since_success: float


@dataclass(frozen=True)
class Finding:
    subject: str                 # a table name, "upstream" or "daily DAG"
    datum: Datum | None          # None: nothing to measure; no metric, and the alarm sees silence
    limit: float
    unit: str
    detail: str

    @property
    def breach(self) -> bool:
        return self.datum is None or self.datum.value > self.limit

    def line(self) -> str:
        value = "n/a" if self.datum is None else f"{self.datum.value:.2f}"
        return f"{self.subject:45} {value:>8} {self.unit} (limit {self.limit:g}): {self.detail}"


# --- reading ---------------------------------------------------------------------------------

def _one(conn: Any, sql: str) -> Any:
    with conn.cursor() as cur:
        cur.execute(sql)
        row = cur.fetchone()
    return row[0] if row else None


def observe_tables(conn: Any, schemas: Mapping[str, str], include_dir: Path) -> dict[str, TableState]:
    """Reads every watched table; any error propagates (no partial answer)."""
    from tokyobeta.ops.history import History

    # Before the first load ever, "no successful load" is the answer, not a missing-table error.
    History(conn, schemas, include_dir).ensure_tables()
    load_day = _one(conn, f"SELECT dump_date FROM `{schemas['ops']}`.`load_history` WHERE status = 'loaded' "
                          "ORDER BY finished_at DESC, id DESC LIMIT 1")
    out: dict[str, TableState] = {}
    for check in TABLE_CHECKS:
        schema = schemas[check.layer]
        has_rows = _one(conn, f"SELECT 1 FROM `{schema}`.`{check.table}` LIMIT 1") is not None
        if check.measured_on:
            # a day can have no event or transition at all: such a table is as current as the
            # table it is built from (its own SELECT above still fails when it is missing)
            has_rows = _one(conn, f"SELECT 1 FROM `{schema}`.`{check.measured_on}` LIMIT 1") is not None
        if check.as_of is None:
            newest = _one(conn, f"SELECT MAX(updated_at) FROM `{schema}`.`{check.table}`")
            out[check.name] = TableState(has_rows, load_day if has_rows else None, newest)
        else:
            day = _one(conn, f"SELECT {check.as_of} FROM `{schema}`.`{check.measured_on or check.table}`")
            out[check.name] = TableState(has_rows, _as_date(day) if has_rows else None)
    return out


def _as_date(value: Any) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value))


def newest_valid_manifest(s3: Any, bucket: str, prefix: str, not_after: date) -> UpstreamState:
    """The newest manifest of a day up to `not_after` that declares a usable dump."""
    days: list[tuple[date, str]] = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for obj in page.get("Contents", []):
            match = _MANIFEST_NAME.search(obj["Key"])
            if match:
                day = datetime.strptime(match.group(1), "%Y%m%d").date()
                if day <= not_after:
                    days.append((day, obj["Key"]))
    skipped: list[str] = []
    for day, key in sorted(days, reverse=True)[:MANIFEST_LOOKBACK]:
        body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        try:
            manifest = manifest_mod.parse(body, expected_date=day)
        except ManifestError as exc:
            skipped.append(f"{key}: {exc}")
            continue
        problem = upstream_problem(manifest)
        if problem:
            skipped.append(f"{key}: {problem}")
            continue
        return UpstreamState(manifest, tuple(skipped))
    return UpstreamState(None, tuple(skipped))


def upstream_problem(manifest: Manifest) -> str:
    if not manifest.valid_for_etl:
        return "valid_for_etl is false"
    if not manifest.source_valid:
        return "source_valid is false"
    empty = [t for t in UPSTREAM_TABLES if manifest.table_row_counts.get(t, 0) <= 0]
    return f"no rows in {', '.join(empty)}" if empty else ""


# --- judging (pure) --------------------------------------------------------------------------

def day_start(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=TOKYO)


def _age(as_of: datetime, since: datetime) -> timedelta:
    return max(as_of - since, timedelta(0))


def evaluate(obs: Observation, limits: Limits) -> list[Finding]:
    findings = [_table_finding(obs, name, state, limits.staleness_days) for name, state in obs.tables.items()]
    findings.append(_upstream_finding(obs, limits.upstream_max_age_hours))
    findings.append(_daily_finding(obs, limits.max_hours_since_success))
    return findings


def _table_finding(obs: Observation, name: str, state: TableState, limit: float) -> Finding:
    change = f"; newest change {state.newest_change:%Y-%m-%d %H:%M} JST" if state.newest_change else ""
    if not state.has_rows:
        return Finding(name, None, limit, "days", "table is empty")
    if state.as_of_day is None:
        why = "no successful load in ops.load_history" if name.startswith("staging.") else "no dated rows"
        return Finding(name, None, limit, "days", why + change)
    days = _age(obs.as_of, day_start(state.as_of_day)) / timedelta(days=1)
    return Finding(name, Datum(metrics.STALENESS_DAYS, round(days, 4), "None", (("Table", name),)), limit, "days",
                   f"holds {state.as_of_day}{change}")


def _upstream_finding(obs: Observation, limit: float) -> Finding:
    manifest = obs.upstream.manifest
    skipped = f"; newer manifests skipped: {'; '.join(obs.upstream.skipped)}" if obs.upstream.skipped else ""
    if manifest is None:
        return Finding("upstream", None, limit, "hours", f"no valid manifest in the last {MANIFEST_LOOKBACK}{skipped}")
    hours = _age(obs.as_of, day_start(manifest.dump_date)) / timedelta(hours=1)
    return Finding("upstream", Datum(metrics.UPSTREAM_AGE_HOURS, round(hours, 4), "None"), limit, "hours",
                   f"newest valid manifest is for {manifest.dump_date}{skipped}")


def _daily_finding(obs: Observation, limit: float) -> Finding:
    if obs.last_success is None:
        return Finding("daily DAG", None, limit, "hours", "tokyobeta_daily_etl has no successful run")
    hours = _age(obs.as_of, obs.last_success) / timedelta(hours=1)
    slot = obs.last_success.astimezone(TOKYO)
    return Finding("daily DAG", Datum(metrics.HOURS_SINCE_LAST_SUCCESS, round(hours, 4), "None"), limit, "hours",
                   f"newest successful run is the {slot:%Y-%m-%d %H:%M} JST slot")


def alert_text(obs: Observation, findings: Sequence[Finding]) -> tuple[str, str] | None:
    breaches = [f for f in findings if f.breach]
    if not breaches:
        return None
    as_of = obs.as_of.astimezone(TOKYO)
    subject = f"STALE: {len(breaches)} freshness breach{'es' if len(breaches) != 1 else ''} as of {as_of:%Y-%m-%d %H:%M} JST"
    body = "\n".join([
        f"Freshness check as of {as_of:%Y-%m-%d %H:%M} JST: {len(breaches)} of {len(findings)} checks breach.",
        "",
        "Breaches:",
        *(f"  {f.line()}" for f in breaches),
        "",
        "Within limits:",
        *(f"  {f.line()}" for f in findings if not f.breach),
    ])
    return subject, body
