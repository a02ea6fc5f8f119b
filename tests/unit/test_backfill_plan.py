"""The backfill planner: every combination of manifest, load history and DAG runs, and the
window's validation. Pure functions, no services."""

from __future__ import annotations

import json
from datetime import date, datetime, timezone

import pytest

from tokyobeta.ops import backfill as bf
from tokyobeta.ops.backfill import LoadRecord, ManifestState, RunRecord

CRON = "0 2 * * *"
DAY = date(2026, 2, 18)
SLOT = bf.slot_for(DAY, CRON)
SHA = "a" * 64
NEW_SHA = "b" * 64
VALID = ManifestState("valid", SHA)
QUARANTINED = ManifestState("quarantined", SHA, ("INVALID_SOURCE",), "source x/y is not the expected a/b")
MISSING = ManifestState("missing", None, (), "manifest does not exist")


def run(state: str, run_id: str = "scheduled__2026-02-17T17:00:00+00:00", at: datetime = SLOT) -> RunRecord:
    return RunRecord(run_id, state, at, DAY)


def loaded(sha: str = SHA, run_id: str = "scheduled__x") -> LoadRecord:
    return LoadRecord("loaded", sha, run_id)


def decide(manifest=VALID, history=(), runs=(), rerun_failed=False):
    return bf.decide(DAY, manifest, list(history), list(runs), SLOT, rerun_failed=rerun_failed)


def test_the_slot_is_the_daily_schedules_slot_of_the_day_in_utc():
    assert SLOT == datetime(2026, 2, 17, 17, 0, tzinfo=timezone.utc)  # 02:00 JST on the 18th
    assert bf.slot_for(DAY, "30 3 * * *") == datetime(2026, 2, 17, 18, 30, tzinfo=timezone.utc)


def test_run_ids_are_deterministic_and_not_airflows_reserved_backfill_prefix():
    from airflow.utils.types import DagRunType

    assert bf.run_id_for(DAY) == bf.run_id_for(date(2026, 2, 18)) == "tokyobeta_backfill__2026-02-18"
    # A manual trigger with an id Airflow reserves for another run type is refused by the API.
    assert DagRunType.from_run_id(bf.run_id_for(DAY)) is DagRunType.MANUAL


@pytest.mark.parametrize("manifest, history, runs, rerun_failed, action", [
    # never processed without a loadable dump of its own, whatever else is true
    (MISSING, (), (), False, bf.SKIP_MISSING),
    (MISSING, (loaded(),), (run("success"),), True, bf.SKIP_MISSING),
    (MISSING, (), (run("failed"),), True, bf.SKIP_MISSING),
    (QUARANTINED, (), (), False, bf.SKIP_QUARANTINED),
    (QUARANTINED, (), (run("failed"),), True, bf.SKIP_QUARANTINED),
    (QUARANTINED, (loaded(),), (run("success"),), False, bf.SKIP_QUARANTINED),
    # valid, nothing yet
    (VALID, (), (), False, bf.TRIGGER),
    (VALID, (), (), True, bf.TRIGGER),
    # a run in flight is never doubled
    (VALID, (), (run("queued"),), False, bf.SKIP_RUNNING),
    (VALID, (), (run("running"),), True, bf.SKIP_RUNNING),
    (VALID, (loaded(NEW_SHA),), (run("running"),), False, bf.SKIP_RUNNING),
    (VALID, (), (run("failed", "manual__1", SLOT.replace(hour=20)), run("running")), True, bf.SKIP_RUNNING),
    # failed runs: skipped unless asked, then cleared (the same run)
    (VALID, (), (run("failed"),), False, bf.SKIP_FAILED),
    (VALID, (), (run("failed"),), True, bf.RERUN_FAILED),
    # load went through but a later task failed: the day is not done
    (VALID, (loaded(),), (run("failed"),), False, bf.SKIP_FAILED),
    (VALID, (loaded(),), (run("failed"),), True, bf.RERUN_FAILED),
    # an older failure does not matter once a newer run succeeded
    (VALID, (loaded(),), (run("failed"), run("success", "manual__2", SLOT.replace(hour=22))), True, bf.SKIP_LOADED),
    # loaded from this very sha
    (VALID, (loaded(),), (run("success"),), False, bf.SKIP_LOADED),
    (VALID, (loaded(),), (), True, bf.SKIP_LOADED),
    (VALID, (LoadRecord("failed", SHA), loaded()), (run("success"),), False, bf.SKIP_LOADED),
    (VALID, (loaded(), LoadRecord("dry_run", SHA)), (run("success"),), False, bf.SKIP_LOADED),
    # the loader found this dump unfit while streaming it: that verdict stands
    (VALID, (LoadRecord("quarantined", SHA, "r", detail="CHECKSUM_MISMATCH"),), (run("success"),), True,
     bf.SKIP_QUARANTINED),
    # ... but a republished dump (another sha) gets its chance
    (VALID, (LoadRecord("quarantined", NEW_SHA),), (run("success"),), False, bf.RERUN),
    # republished: loaded from another sha
    (VALID, (loaded(NEW_SHA),), (), False, bf.TRIGGER),
    (VALID, (loaded(NEW_SHA),), (run("success"),), False, bf.RERUN),
    # the run at the slot succeeded without loading (the day was quarantined or missing then)
    (VALID, (), (run("success"),), False, bf.RERUN),
    # a manual run of the day at another logical date: the slot is still free for ours
    (VALID, (), (run("success", "manual__3", SLOT.replace(hour=23)),), False, bf.TRIGGER),
])
def test_every_combination(manifest, history, runs, rerun_failed, action):
    plan = decide(manifest, history, runs, rerun_failed)
    assert plan.action == action, plan.reason


def test_reasons_say_what_to_do():
    assert "INVALID_SOURCE" in decide(QUARANTINED).reason
    assert "never filled from another day" in decide(MISSING).reason
    skipped = decide(VALID, (), (run("failed"),))
    assert "use --rerun-failed" in skipped.reason and skipped.run_id == run("failed").run_id
    republished = decide(VALID, (loaded(NEW_SHA),))
    assert "republished" in republished.reason and NEW_SHA[:12] in republished.reason and SHA[:12] in republished.reason
    assert decide(VALID, (loaded(),)).run_id == "scheduled__x"


def test_trigger_targets_the_days_slot_with_a_deterministic_id():
    plan = decide()
    assert (plan.run_id, plan.logical_date) == ("tokyobeta_backfill__2026-02-18", SLOT)


def test_rerun_clears_the_run_at_the_slot_not_a_new_one():
    slot_run = run("success", "scheduled__slot")
    plan = decide(VALID, (loaded(NEW_SHA),), (slot_run, run("success", "manual__late", SLOT.replace(hour=23))))
    assert plan.action == bf.RERUN and plan.run_id == "scheduled__slot"


def test_rerun_failed_clears_the_newest_failed_run():
    plan = decide(VALID, (), (run("success", "old", SLOT), run("failed", "manual__new", SLOT.replace(hour=21))),
                  rerun_failed=True)
    assert (plan.action, plan.run_id) == (bf.RERUN_FAILED, "manual__new")


def test_runs_belong_to_their_conf_dump_date_else_their_jst_day():
    other = date(2026, 2, 19)
    runs = [RunRecord("manual__a", "failed", datetime(2026, 3, 1, tzinfo=timezone.utc), DAY),
            RunRecord("scheduled__b", "success", bf.slot_for(other, CRON), other)]
    plans = bf.plan([DAY, other], {DAY: VALID, other: VALID}, {other: [loaded()]}, runs, CRON)
    assert [p.action for p in plans] == [bf.SKIP_FAILED, bf.SKIP_LOADED]
    assert bf._run_day({"conf": {"dump_date": "2026-02-18"}}, datetime(2026, 3, 1, tzinfo=timezone.utc)) == DAY
    assert bf._run_day({"conf": {}}, SLOT) == DAY  # 02:00 JST on the 18th
    assert bf._run_day({"conf": {"dump_date": "nonsense"}}, SLOT) == DAY


@pytest.mark.parametrize("start, end, message", [
    (date(2026, 3, 2), date(2026, 3, 1), "--start 2026-03-02 is after --end 2026-03-01"),
    (date(2025, 1, 1), date(2026, 1, 2), "367 days; at most 366"),
])
def test_the_window_is_validated(start, end, message):
    with pytest.raises(bf.BackfillInputError, match=message):
        bf.validate_window(start, end)


def test_window_edges():
    assert bf.validate_window(DAY, DAY) == [DAY]
    days = bf.validate_window(date(2025, 1, 1), date(2026, 1, 1))
    assert len(days) == 366 and days[0] == date(2025, 1, 1) and days[-1] == date(2026, 1, 1)


def test_bad_dates_name_the_flag(capsys):
    from tokyobeta import cli

    with pytest.raises(SystemExit) as exc:
        cli.main(["backfill", "--start", "2026-02-30", "--end", "2026-03-01"])
    assert exc.value.code == 2
    assert "argument --start: --start '2026-02-30' is not a date" in capsys.readouterr().err


def test_an_mwaa_environment_without_the_mwaa_target_is_refused(capsys):
    from tokyobeta import cli

    assert cli.main(["backfill", "--start", "2026-03-01", "--end", "2026-03-01", "--mwaa-env", "prod"]) == 2
    assert "--mwaa-env is for --target mwaa" in capsys.readouterr().err


def test_the_local_target_needs_a_password_and_never_shows_it():
    with pytest.raises(bf.BackfillInputError, match="AIRFLOW_API_PASSWORD"):
        bf.local_api("http://127.0.0.1:1", "admin", "")
    api = bf.local_api("http://127.0.0.1:1", "admin", "s3cret-Pa55")
    assert "s3cret" not in repr(api) and "s3cret" not in api.where
    from tokyobeta.io.airflow_api import ApiUnreachable
    with pytest.raises(ApiUnreachable) as exc:
        api.call("GET", "/dags")
    assert "s3cret" not in str(exc.value)


def _report(dry_run=False):
    plans = bf.plan([DAY, date(2026, 2, 19), date(2026, 2, 20)],
                    {DAY: VALID, date(2026, 2, 19): QUARANTINED, date(2026, 2, 20): MISSING}, {}, [], CRON)
    report = bf.Report("local", "http://127.0.0.1:8080", bf.DAG_ID, DAY, date(2026, 2, 20), dry_run, False, plans)
    return report


def test_table_summary_and_exit_code():
    report = _report()
    report.days[0].outcome = "triggered tokyobeta_backfill__2026-02-18"
    text = bf.render(report)
    lines = text.splitlines()
    assert lines[1].split() == ["DAY", "MANIFEST", "LOADED", "RUN", "ACTION", "WHY"]
    assert lines[2].split()[:6] == ["2026-02-18", "valid", SHA[:12], "-", "-", bf.TRIGGER]
    assert "2026-02-19  quarantined INVALID_SOURCE" in text and "skip-quarantined" in text
    assert "3 day(s): 1 trigger, 1 skip-quarantined, 1 skip-missing; actions: 1 ok, 0 failed" in text
    assert report.exit_code == 0
    report.days[0].ok, report.days[0].outcome = False, "FAILED trigger: HTTP 500"
    assert report.exit_code == 1 and "actions: 0 ok, 1 failed" in bf.summary(report)


def test_json_document():
    report = _report(dry_run=True)
    doc = json.loads(bf.to_json(report))
    assert [d["action"] for d in doc["days"]] == [bf.TRIGGER, bf.SKIP_QUARANTINED, bf.SKIP_MISSING]
    assert doc["days"][0]["logical_date"] == "2026-02-17T17:00:00+00:00"
    assert doc["days"][1]["manifest"] == {"state": "quarantined", "sha256": SHA, "reasons": ["INVALID_SOURCE"],
                                          "detail": QUARANTINED.detail}
    assert doc["summary"]["actions"] == {bf.TRIGGER: 1, bf.SKIP_QUARANTINED: 1, bf.SKIP_MISSING: 1}
    assert doc["dry_run"] is True and doc["exit_code"] == 0
