"""`tokyobeta backfill`: which dump days of a window can be (re)processed, and one daily-DAG run
for each of them, never two.

Per day three facts are gathered (`gather`) and combined by a pure rule (`decide`):

  manifest     valid / quarantined with reasons / missing: the same manifest-only judgement as
               check_manifest (manifest, provenance, the dump's size); the dump is not streamed
  load history ops.load_history: loaded from which sha256, or failed, or quarantined by the loader
  DAG runs     every run of the daily DAG for that day (its slot, or conf['dump_date']), read
               through the Airflow REST API so the same code works locally and on MWAA

A quarantined or missing day is never filled from another day's dump. Runs are triggered at the
day's own slot of the daily schedule (the slot a scheduled run of that day has), and Airflow
allows one run per logical date, so a trigger can never create a second run for a day: a 409
means "already there" and is not an error. A failed run is never doubled either: with
--rerun-failed its failed and upstream_failed tasks are cleared through the API.
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Mapping, Sequence

from tokyobeta.dates import TOKYO
from tokyobeta.io.airflow_api import AirflowApi, ApiUnreachable
from tokyobeta.ops.rundag import logical_date_for

DAG_ID = "tokyobeta_daily_etl"
MAX_WINDOW_DAYS = 366
# "backfill__" is Airflow's own reserved prefix (a manual trigger using it is refused), hence ours.
RUN_ID_PREFIX = "tokyobeta_backfill__"
NO_SLA_NOTE = ("Triggered runs are manual runs: Airflow, and so MWAA, checks no SLA on them "
               "(no SLA-miss e-mail or alert); watch them in the Airflow UI.")

TRIGGER = "trigger"
RERUN = "rerun"
RERUN_FAILED = "rerun-failed"
SKIP_QUARANTINED = "skip-quarantined"
SKIP_MISSING = "skip-missing"
SKIP_LOADED = "skip-already-loaded"
SKIP_RUNNING = "skip-running"
SKIP_FAILED = "skip-failed"
ACTIONS = (TRIGGER, RERUN, RERUN_FAILED, SKIP_LOADED, SKIP_RUNNING, SKIP_FAILED, SKIP_QUARANTINED, SKIP_MISSING)
ACTING = {TRIGGER, RERUN, RERUN_FAILED}
ACTIVE_RUN_STATES = {"queued", "running"}


class BackfillInputError(ValueError):
    """The command line asks for something that cannot be done; the message names the flag."""


class BackfillRefused(RuntimeError):
    """Refused before anything was changed (wrong AWS account, DAG unknown to the API …)."""


# --- the facts -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ManifestState:
    state: str                      # valid | quarantined | missing
    sha256: str | None = None
    reasons: tuple[str, ...] = ()
    detail: str = ""

    @classmethod
    def from_verdict(cls, verdict: Any) -> "ManifestState":
        state = {"LOADABLE": "valid", "QUARANTINED": "quarantined", "MISSING": "missing"}[verdict.status.value]
        return cls(state, verdict.manifest.dump_sha256 if verdict.manifest else None, tuple(verdict.reasons),
                   verdict.detail)


@dataclass(frozen=True)
class LoadRecord:
    status: str                     # loaded | failed | quarantined | dry_run | restored
    sha256: str
    run_id: str | None = None
    finished_at: datetime | None = None
    detail: str = ""


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    state: str
    logical_date: datetime          # aware
    dump_date: date
    run_type: str = ""


@dataclass
class DayPlan:
    day: date
    manifest: ManifestState
    history: list[LoadRecord]
    runs: list[RunRecord]
    action: str
    reason: str
    run_id: str | None              # the run triggered, cleared or found
    logical_date: datetime          # the day's slot (aware, UTC)
    outcome: str = ""               # after execution: triggered | exists | cleared N | dry-run | FAILED …
    ok: bool = True

    @property
    def loaded(self) -> LoadRecord | None:
        return next((r for r in reversed(self.history) if r.status == "loaded"), None)

    @property
    def newest_run(self) -> RunRecord | None:
        return max(self.runs, key=lambda r: r.logical_date) if self.runs else None


def run_id_for(day: date) -> str:
    return f"{RUN_ID_PREFIX}{day.isoformat()}"


def slot_for(day: date, cron: str) -> datetime:
    """The daily DAG's scheduled slot of `day` (02:00 JST by default), in UTC."""
    return logical_date_for(day, cron).astimezone(timezone.utc)


def validate_window(start: date, end: date, max_days: int = MAX_WINDOW_DAYS) -> list[date]:
    if start > end:
        raise BackfillInputError(f"--start {start} is after --end {end}")
    days = (end - start).days + 1
    if days > max_days:
        raise BackfillInputError(f"--start {start} to --end {end} is {days} days; at most {max_days} at a time "
                                 "(split the window)")
    return [start + timedelta(days=i) for i in range(days)]


# --- the rule ------------------------------------------------------------------------------


def _short(sha: str | None) -> str:
    return sha[:12] if sha else "-"


def decide(day: date, manifest: ManifestState, history: Sequence[LoadRecord], runs: Sequence[RunRecord],
           slot: datetime, *, rerun_failed: bool = False) -> DayPlan:
    """One day's action. `history` oldest first; `runs` are the daily DAG's runs for this day."""
    plan = DayPlan(day, manifest, list(history), list(runs), "", "", None, slot)

    def done(action: str, reason: str, run_id: str | None = None) -> DayPlan:
        plan.action, plan.reason, plan.run_id = action, reason, run_id
        return plan

    # The manifest first: whatever runs or history say, a day without a loadable dump of its own
    # is never processed (no synthetic backfill from a neighbouring day).
    if manifest.state == "missing":
        return done(SKIP_MISSING, "no manifest for this day; it is never filled from another day")
    if manifest.state == "quarantined":
        return done(SKIP_QUARANTINED, f"quarantined: {' '.join(manifest.reasons) or '-'}"
                    + (f" ({manifest.detail})" if manifest.detail else ""))
    active = [r for r in runs if r.state in ACTIVE_RUN_STATES]
    if active:
        return done(SKIP_RUNNING, f"run {active[0].run_id} is {active[0].state}; not starting another",
                    active[0].run_id)
    # The loader reads the whole dump (sha256, row counts, schema) and may quarantine what the
    # manifest alone let through; that verdict on this very sha stands.
    attempts = [r for r in history if r.sha256 == manifest.sha256 and r.status in {"loaded", "failed", "quarantined"}]
    if attempts and attempts[-1].status == "quarantined":
        return done(SKIP_QUARANTINED, f"the loader quarantined dump {_short(manifest.sha256)}"
                    + (f": {attempts[-1].detail}" if attempts[-1].detail else ""), attempts[-1].run_id)
    newest = plan.newest_run
    if newest is not None and newest.state == "failed":
        if rerun_failed:
            return done(RERUN_FAILED, f"run {newest.run_id} failed; clearing its failed tasks", newest.run_id)
        return done(SKIP_FAILED, f"run {newest.run_id} failed; use --rerun-failed to clear its failed tasks",
                    newest.run_id)
    loaded = plan.loaded
    if loaded is not None and loaded.sha256 == manifest.sha256:
        return done(SKIP_LOADED, f"loaded from {_short(loaded.sha256)} by {loaded.run_id or '-'}", loaded.run_id)
    if loaded is not None:
        why = f"republished: loaded from {_short(loaded.sha256)}, the manifest now says {_short(manifest.sha256)}"
    elif newest is not None:
        why = f"run {newest.run_id} ended {newest.state} without loading this dump (it was not loadable then)"
    else:
        why = "valid and not loaded yet"
    # One run per logical date: a run already at the slot is run again, never doubled.
    at_slot = next((r for r in runs if r.logical_date == slot), None)
    if at_slot is not None:
        return done(RERUN, f"{why}; clearing run {at_slot.run_id} to run it again", at_slot.run_id)
    return done(TRIGGER, why, run_id_for(day))


# --- gathering the facts ------------------------------------------------------------------


def read_manifests(cfg: Any, s3: Any, secrets: Any, days: Iterable[date]) -> dict[date, ManifestState]:
    from tokyobeta.ingest import provenance
    from tokyobeta.ingest.day import judge_in_bucket

    # The trusted source is the same for every day of the window: one Secrets Manager read.
    expected = functools.cache(lambda: provenance.expected_source(cfg, secrets))
    return {day: ManifestState.from_verdict(judge_in_bucket(cfg, s3, secrets, day, expected_source=expected)[0])
            for day in days}


def read_history(conn: Any, ops_schema: str, start: date, end: date) -> dict[date, list[LoadRecord]]:
    import MySQLdb

    rows: dict[date, list[LoadRecord]] = {}
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT dump_date, status, dump_sha256, run_id, finished_at, detail FROM `{ops_schema}`.`load_history` "
                        "WHERE dump_date BETWEEN %s AND %s ORDER BY id", (start, end))
            fetched = cur.fetchall()
    except MySQLdb.ProgrammingError as exc:
        if exc.args and exc.args[0] == 1146:  # no table yet: nothing was ever loaded
            return rows
        raise
    for day, status, sha, run_id, finished, detail in fetched:
        rows.setdefault(day, []).append(LoadRecord(status, sha, run_id, finished, (detail or "")[:300]))
    return rows


def _api_error(what: str, status: int, body: Any) -> str:
    detail = body.get("detail") or body.get("title") if isinstance(body, dict) else body
    return f"{what}: HTTP {status}" + (f" ({detail})" if detail else "")


def _parse_ts(raw: str) -> datetime:
    return datetime.fromisoformat(raw.replace("Z", "+00:00"))


def _run_day(run: Mapping[str, Any], logical: datetime) -> date:
    raw = (run.get("conf") or {}).get("dump_date")
    if raw:
        try:
            return date.fromisoformat(str(raw).strip())
        except ValueError:
            pass
    return logical.astimezone(TOKYO).date()


def dag_state(api: AirflowApi, dag_id: str) -> dict[str, Any]:
    status, body = api.call("GET", f"/dags/{dag_id}")
    if status == 404:
        raise BackfillRefused(f"{api.where} does not know DAG {dag_id} (not deployed, or not parsed yet)")
    if status != 200:
        raise BackfillRefused(_api_error(f"{api.where}: GET /dags/{dag_id}", status, body))
    return body


def list_runs(api: AirflowApi, dag_id: str, since: datetime, page: int = 100, max_pages: int = 50) -> list[RunRecord]:
    """Every run with a logical date from `since` on. Later manual runs that name a dump_date in
    their conf belong to that day, so there is no upper bound."""
    runs: list[RunRecord] = []
    for number in range(max_pages):
        status, body = api.call("GET", f"/dags/{dag_id}/dagRuns", query={
            "execution_date_gte": since.isoformat(), "order_by": "execution_date", "limit": page,
            "offset": number * page})
        if status != 200:
            raise BackfillRefused(_api_error(f"{api.where}: listing runs of {dag_id}", status, body))
        batch = body.get("dag_runs") or []
        for run in batch:
            logical = _parse_ts(run.get("logical_date") or run["execution_date"])
            runs.append(RunRecord(run["dag_run_id"], str(run.get("state") or ""), logical, _run_day(run, logical),
                                  str(run.get("run_type") or "")))
        if len(batch) < page:
            return runs
    raise BackfillRefused(f"more than {page * max_pages} runs of {dag_id} since {since:%Y-%m-%d}; "
                          "pick a more recent window")


def plan(days: Sequence[date], manifests: Mapping[date, ManifestState], history: Mapping[date, list[LoadRecord]],
         runs: Sequence[RunRecord], cron: str, *, rerun_failed: bool = False) -> list[DayPlan]:
    by_day: dict[date, list[RunRecord]] = {}
    for run in runs:
        by_day.setdefault(run.dump_date, []).append(run)
    return [decide(day, manifests[day], history.get(day, []), by_day.get(day, []), slot_for(day, cron),
                   rerun_failed=rerun_failed) for day in days]


# --- acting ---------------------------------------------------------------------------------


def _clear(api: AirflowApi, dag_id: str, run_id: str, only_failed: bool) -> tuple[bool, str]:
    status, body = api.call("POST", f"/dags/{dag_id}/clearTaskInstances", body={
        "dry_run": False, "dag_run_id": run_id, "only_failed": only_failed, "reset_dag_runs": True})
    if status != 200:
        return False, _api_error(f"clearing {run_id}", status, body)
    cleared = len((body or {}).get("task_instances") or [])
    return True, f"cleared {cleared} task(s) of {run_id}"


def execute(api: AirflowApi, dag_id: str, item: DayPlan) -> None:
    """Does the day's action; the outcome lands on the plan. Never raises: one day's trouble
    must not hide what happened to the others."""
    try:
        _execute(api, dag_id, item)
    except ApiUnreachable as exc:
        item.ok, item.outcome = False, f"FAILED {exc}"


def _execute(api: AirflowApi, dag_id: str, item: DayPlan) -> None:
    if item.action == TRIGGER:
        status, body = api.call("POST", f"/dags/{dag_id}/dagRuns", body={
            "dag_run_id": item.run_id, "logical_date": item.logical_date.isoformat(),
            "conf": {"dump_date": item.day.isoformat()}, "note": "triggered by tokyobeta backfill"})
        if status == 200:
            item.outcome = f"triggered {item.run_id}"
        elif status == 409:
            # A run at that slot or with that id appeared since we looked: one run per day holds.
            item.outcome = f"already exists ({item.run_id} or another run at {item.logical_date:%Y-%m-%d %H:%M} UTC)"
        else:
            item.ok, item.outcome = False, "FAILED " + _api_error("trigger", status, body)
    elif item.action in (RERUN, RERUN_FAILED):
        ok, message = _clear(api, dag_id, item.run_id or "", only_failed=item.action == RERUN_FAILED)
        item.ok, item.outcome = ok, message if ok else f"FAILED {message}"


@dataclass
class Report:
    target: str
    where: str
    dag_id: str
    start: date
    end: date
    dry_run: bool
    rerun_failed: bool
    days: list[DayPlan]
    notes: list[str] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counted = Counter(item.action for item in self.days)
        return {action: counted[action] for action in ACTIONS if counted[action]}

    @property
    def acted(self) -> list[DayPlan]:
        return [item for item in self.days if item.action in ACTING]

    @property
    def failed(self) -> list[DayPlan]:
        return [item for item in self.acted if not item.ok]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def run_backfill(api: AirflowApi, *, target: str, dag_id: str, cron: str, days: Sequence[date],
                 manifests: Mapping[date, ManifestState], history: Mapping[date, list[LoadRecord]],
                 dry_run: bool = False, rerun_failed: bool = False) -> Report:
    dag = dag_state(api, dag_id)
    runs = list_runs(api, dag_id, slot_for(days[0], cron))
    report = Report(target, api.where, dag_id, days[0], days[-1], dry_run, rerun_failed,
                    plan(days, manifests, history, runs, cron, rerun_failed=rerun_failed))
    if dag.get("is_paused"):
        report.notes.append(f"DAG {dag_id} is paused: triggered and cleared runs wait until it is unpaused.")
    for item in report.acted:
        if dry_run:
            item.outcome = "dry run: nothing done"
        else:
            execute(api, dag_id, item)
    if report.acted:
        report.notes.append(NO_SLA_NOTE)
    return report


# --- showing it -----------------------------------------------------------------------------


def _manifest_cell(m: ManifestState) -> str:
    if m.state == "valid":
        return f"valid {_short(m.sha256)}"
    if m.state == "quarantined":
        return f"quarantined {','.join(m.reasons) or '-'}"
    return "missing"


def _loaded_cell(item: DayPlan) -> str:
    loaded = item.loaded
    if loaded is not None:
        return f"loaded {_short(loaded.sha256)}"
    return item.history[-1].status if item.history else "-"


def _run_cell(item: DayPlan) -> str:
    newest = item.newest_run
    return f"{newest.state} {newest.run_id}" if newest else "-"


def render(report: Report) -> str:
    rows = [("DAY", "MANIFEST", "LOADED", "RUN", "ACTION", "WHY")]
    for item in report.days:
        why = item.reason + (f" -> {item.outcome}" if item.outcome else "")
        rows.append((item.day.isoformat(), _manifest_cell(item.manifest), _loaded_cell(item), _run_cell(item),
                     item.action, why))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [f"backfill of {report.dag_id} on {report.where}, {report.start} to {report.end}"
             + (" (dry run)" if report.dry_run else "")]
    lines += ["  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5] for row in rows]
    lines.append(summary(report))
    lines += [f"note: {note}" for note in report.notes]
    return "\n".join(line.rstrip() for line in lines)


def summary(report: Report) -> str:
    counts = ", ".join(f"{n} {action}" for action, n in report.counts.items())
    acted = report.acted
    if report.dry_run:
        tail = f"dry run: {len(acted)} action(s) not taken"
    else:
        tail = f"actions: {len(acted) - len(report.failed)} ok, {len(report.failed)} failed"
    return f"{len(report.days)} day(s): {counts}; {tail}"


def to_json(report: Report) -> str:
    def day_doc(item: DayPlan) -> dict[str, Any]:
        loaded = item.loaded
        return {
            "day": item.day.isoformat(),
            "manifest": asdict(item.manifest) | {"reasons": list(item.manifest.reasons)},
            "loaded": {"sha256": loaded.sha256, "run_id": loaded.run_id} if loaded else None,
            "last_load_status": item.history[-1].status if item.history else None,
            "runs": [{"run_id": r.run_id, "state": r.state, "logical_date": r.logical_date.isoformat(),
                      "run_type": r.run_type} for r in item.runs],
            "action": item.action,
            "reason": item.reason,
            "run_id": item.run_id,
            "logical_date": item.logical_date.isoformat(),
            "outcome": item.outcome or None,
            "ok": item.ok,
        }

    return json.dumps({
        "target": report.target, "where": report.where, "dag_id": report.dag_id,
        "start": report.start.isoformat(), "end": report.end.isoformat(),
        "dry_run": report.dry_run, "rerun_failed": report.rerun_failed,
        "days": [day_doc(item) for item in report.days],
        "summary": {"actions": report.counts, "acted": len(report.acted), "failed": len(report.failed),
                    "text": summary(report)},
        "notes": report.notes, "exit_code": report.exit_code,
    }, indent=2)


# --- reaching the API -----------------------------------------------------------------------


def local_api(base_url: str, user: str, password: str | None) -> AirflowApi:
    from tokyobeta.io.airflow_api import LocalRestApi

    if not base_url:
        raise BackfillInputError("no Airflow webserver URL: set AIRFLOW_API_URL (or AIRFLOW__WEBSERVER__BASE_URL)")
    if not password:
        raise BackfillInputError(f"set AIRFLOW_API_PASSWORD to the password of Airflow user {user!r} "
                                 "(AIRFLOW_API_USER) for --target local")
    return LocalRestApi(base_url, user, password)


def mwaa_api(sts: Any, mwaa_client: Any, environment: str, account_id: str) -> AirflowApi:
    """The MWAA target, only after the caller's credentials are proven to be of the configured
    account: the wrong profile otherwise surfaces much later as an AccessDenied or, worse, as
    runs triggered in another account's environment of the same name."""
    from tokyobeta.io.airflow_api import MwaaRestApi
    from tokyobeta.ops.deploy import DeployRefused, check_account

    if not environment:
        raise BackfillInputError("--target mwaa needs --mwaa-env NAME (or MWAA_ENVIRONMENT)")
    try:
        check_account(sts, account_id)
    except DeployRefused as exc:
        raise BackfillRefused(str(exc)) from None
    return MwaaRestApi(mwaa_client, environment)
