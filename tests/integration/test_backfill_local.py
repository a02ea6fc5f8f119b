"""`tokyobeta backfill` against a real Airflow: a webserver and a scheduler (LocalExecutor) started
by this module from this checkout's dags/ and plugins/, the real daily DAG, MariaDB, and manifests
and dumps in the moto server. Nothing is mocked.

The window, one day of each kind:
  LOADED       its run (started through the API, as the scheduler would have) loaded it
  FAILED       its run failed in load_staging: an operator's typo in the Airflow Variable
               STAGING_BACKUPS_KEPT; the Variable is fixed afterwards, the run stays failed
  QUARANTINED  manifest fine, dump truncated (TRUNCATED_DUMP, seen from the manifest and size)
  MISSING      nothing published
  VALID        published, never run

Then: a dry run decides without triggering; the backfill triggers VALID only and the scheduler
runs it to success; a second backfill triggers nothing; a trigger racing an existing run gets the
API's 409 and reports "already exists"; --rerun-failed clears FAILED's failed tasks in the same
run, which then succeeds; a dump republished for LOADED runs that day's run again; QUARANTINED
and MISSING never get a run.
"""

from __future__ import annotations

import json
import shutil
import urllib.parse
from datetime import date
from pathlib import Path

import pytest

from support.airflow_server import Airflow, fail_stale_runs, running_airflow
from tokyobeta.ops import backfill as bf

pytestmark = pytest.mark.slow

DAG_ID = bf.DAG_ID
LOADED, FAILED, QUARANTINED, MISSING, VALID = (date(2026, 4, d) for d in range(6, 11))
WINDOW = ["--start", LOADED.isoformat(), "--end", VALID.isoformat()]
USER = "tokyobeta-backfill-test"
RUN_TIMEOUT_S = 420
BROKEN_VARIABLE = "STAGING_BACKUPS_KEPT"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "backfill"


def in_window(run: dict) -> bool:
    day = (run.get("conf") or {}).get("dump_date")
    return day is not None and LOADED.isoformat() <= day <= VALID.isoformat()


def runs_in_window(af: Airflow) -> dict[str, list[dict]]:
    by_day: dict[str, list[dict]] = {}
    for run in af.runs(DAG_ID):
        if in_window(run):
            by_day.setdefault(run["conf"]["dump_date"], []).append(run)
    return by_day


def wait_for_run(af: Airflow, run_id: str, expect: str) -> dict:
    quoted = urllib.parse.quote(run_id, safe="")

    def finished():
        run = af.api(f"dags/{DAG_ID}/dagRuns/{quoted}")
        return run if run["state"] in {"success", "failed"} else None
    run = af.wait_for(f"run {run_id} to finish", finished, timeout=RUN_TIMEOUT_S, every=3)
    if run["state"] != expect:
        states = {ti["task_id"]: ti["state"] for ti in af.api(
            f"dags/{DAG_ID}/dagRuns/{quoted}/taskInstances?limit=100")["task_instances"]}
        pytest.fail(f"run {run_id} ended {run['state']}, expected {expect}; tasks: {states}; logs in {af.artifacts}")
    return run


def trigger_at_slot(af: Airflow, day: date, run_id: str) -> None:
    """What the scheduler does for a day (tests run with the scheduler's own schedule off)."""
    af.api(f"dags/{DAG_ID}/dagRuns", "POST", {
        "dag_run_id": run_id, "logical_date": bf.slot_for(day, "0 2 * * *").isoformat(),
        "conf": {"dump_date": day.isoformat()}})


def task_instance(af: Airflow, run_id: str, task_id: str) -> dict:
    return af.api(f"dags/{DAG_ID}/dagRuns/{urllib.parse.quote(run_id, safe='')}/taskInstances/{task_id}")


def history(pipeline, day: date) -> list[tuple]:
    with pipeline.admin.cursor() as cur:
        cur.execute(f"SELECT status, dump_sha256, run_id FROM `{pipeline.schemas['ops']}`.load_history "
                    "WHERE dump_date = %s ORDER BY id", (day,))
        return list(cur.fetchall())


@pytest.fixture(scope="module")
def artifacts() -> Path:
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="module")
def stack(pipeline, artifacts, repo, tmp_path_factory):
    manifests = {}

    def publish_the_days():
        for day in (LOADED, FAILED, QUARANTINED, VALID):
            pipeline.build_source(day)
            manifests[day] = pipeline.publish(day)
        key = manifests[QUARANTINED].dump_key
        body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=key)["Body"].read()
        pipeline.s3.put_object(Bucket=pipeline.bucket, Key=key, Body=body[: len(body) // 2])

    fail_stale_runs(DAG_ID)
    # the five dbt gold models run side by side
    with running_airflow(artifacts, user=USER, dags=repo / "dags", plugins=repo / "plugins",
                         logs=tmp_path_factory.mktemp("airflow-logs"), wait_for_dag=DAG_ID,
                         extra_env={"AIRFLOW__CORE__PARALLELISM": "6"}, while_starting=publish_the_days) as af:
        af.api(f"dags/{DAG_ID}", "PATCH", {"is_paused": False})
        for runs in runs_in_window(af).values():  # left by an earlier session: this one starts clean
            for run in runs:
                af.delete_run(DAG_ID, run["dag_run_id"])
        for run in af.runs(DAG_ID):
            if run["dag_run_id"].startswith(bf.RUN_ID_PREFIX) or run["dag_run_id"].startswith("manual__setup"):
                af.delete_run(DAG_ID, run["dag_run_id"])

        af.api("variables", "POST", {"key": BROKEN_VARIABLE, "value": "three"})
        try:
            trigger_at_slot(af, FAILED, "manual__setup-failed")
            wait_for_run(af, "manual__setup-failed", "failed")
        finally:
            af.api(f"variables/{BROKEN_VARIABLE}", "DELETE")
        trigger_at_slot(af, LOADED, "manual__setup-loaded")
        wait_for_run(af, "manual__setup-loaded", "success")

        mp = pytest.MonkeyPatch()
        mp.setenv("AIRFLOW_API_URL", af.base)
        mp.setenv("AIRFLOW_API_USER", USER)
        mp.setenv("AIRFLOW_API_PASSWORD", af.password)
        try:
            yield af, manifests
        finally:
            mp.undo()


def backfill(capsys, *args: str) -> tuple[int, str]:
    from tokyobeta import cli

    code = cli.main(["backfill", *WINDOW, *args])
    out = capsys.readouterr()
    with (ARTIFACTS / "cli-output.txt").open("a") as fh:  # what an operator would have seen
        fh.write(f"$ tokyobeta backfill {' '.join([*WINDOW, *args])}   # exit {code}\n{out.out}{out.err}\n")
    return code, out.out + out.err


def actions(doc: dict) -> dict[str, str]:
    return {d["day"]: d["action"] for d in doc["days"]}


def test_the_setup_left_a_failed_run_and_a_loaded_day(stack, pipeline):
    af, manifests = stack
    assert task_instance(af, "manual__setup-failed", "load_staging")["state"] == "failed"
    assert history(pipeline, FAILED) == []  # it failed before loading anything
    assert history(pipeline, LOADED) == [("loaded", manifests[LOADED].dump_sha256, "manual__setup-loaded")]


def test_a_dry_run_decides_and_triggers_nothing(stack, capsys):
    af, manifests = stack
    before = runs_in_window(af)
    code, out = backfill(capsys, "--dry-run", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert actions(doc) == {LOADED.isoformat(): bf.SKIP_LOADED, FAILED.isoformat(): bf.SKIP_FAILED,
                            QUARANTINED.isoformat(): bf.SKIP_QUARANTINED, MISSING.isoformat(): bf.SKIP_MISSING,
                            VALID.isoformat(): bf.TRIGGER}
    days = {d["day"]: d for d in doc["days"]}
    assert days[QUARANTINED.isoformat()]["manifest"]["reasons"] == ["TRUNCATED_DUMP"]
    assert days[VALID.isoformat()]["manifest"]["sha256"] == manifests[VALID].dump_sha256
    assert "use --rerun-failed" in days[FAILED.isoformat()]["reason"]
    assert days[VALID.isoformat()]["outcome"] == "dry run: nothing done"
    assert runs_in_window(af) == before


def test_the_backfill_triggers_the_valid_day_and_the_scheduler_loads_it(stack, pipeline, capsys):
    af, manifests = stack
    code, out = backfill(capsys)
    assert code == 0, out
    run_id = bf.run_id_for(VALID)
    assert f"triggered {run_id}" in out
    assert "5 day(s): 1 trigger, 1 skip-already-loaded, 1 skip-failed, 1 skip-quarantined, 1 skip-missing; " \
           "actions: 1 ok, 0 failed" in out
    assert "checks no SLA" in out
    assert af.password not in out

    run = wait_for_run(af, run_id, "success")
    assert run["conf"] == {"dump_date": VALID.isoformat()}
    assert run["logical_date"].replace("Z", "+00:00") == "2026-04-09T17:00:00+00:00"  # 02:00 JST on the 10th
    assert history(pipeline, VALID) == [("loaded", manifests[VALID].dump_sha256, run_id)]


def test_a_second_backfill_triggers_nothing(stack, capsys):
    af, _ = stack
    before = runs_in_window(af)
    code, out = backfill(capsys, "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert actions(doc)[VALID.isoformat()] == bf.SKIP_LOADED
    assert doc["summary"]["acted"] == 0
    assert runs_in_window(af) == before
    assert len(before[VALID.isoformat()]) == 1


def test_a_trigger_that_finds_the_run_already_there_is_not_a_failure(stack):
    """The race the plan cannot see: a run appears between the look and the trigger. The real
    webserver answers 409 and the day is reported as already there, not as failed."""
    af, _ = stack
    api = bf.local_api(af.base, USER, af.password)
    item = bf.decide(VALID, bf.ManifestState("valid", "d" * 64), [], [], bf.slot_for(VALID, "0 2 * * *"))
    assert item.action == bf.TRIGGER
    bf.execute(api, DAG_ID, item)
    assert item.ok and item.outcome.startswith("already exists"), item.outcome
    assert len(runs_in_window(af)[VALID.isoformat()]) == 1


def test_rerun_failed_clears_the_failed_run_and_it_succeeds(stack, pipeline, capsys):
    af, manifests = stack
    before = task_instance(af, "manual__setup-failed", "load_staging")["try_number"]
    code, out = backfill(capsys, "--rerun-failed")
    assert code == 0, out
    assert "rerun-failed" in out and "cleared" in out and "of manual__setup-failed" in out
    run = wait_for_run(af, "manual__setup-failed", "success")
    assert run["dag_run_id"] == "manual__setup-failed"
    assert task_instance(af, "manual__setup-failed", "load_staging")["try_number"] == before + 1
    assert [r["dag_run_id"] for r in runs_in_window(af)[FAILED.isoformat()]] == ["manual__setup-failed"]
    assert history(pipeline, FAILED) == [("loaded", manifests[FAILED].dump_sha256, "manual__setup-failed")]


def test_a_republished_dump_runs_its_day_again_in_the_same_run(stack, pipeline, capsys):
    """The runbook's republish-then-backfill: a new dump for a day already loaded from another
    sha. Its run at the slot is cleared and goes again (a second run at the slot cannot exist)."""
    af, manifests = stack
    pipeline.build_source(LOADED, seed=8)
    republished = pipeline.publish(LOADED)
    assert republished.dump_sha256 != manifests[LOADED].dump_sha256
    code, out = backfill(capsys, "--json")
    assert code == 0, out
    day = next(d for d in json.loads(out)["days"] if d["day"] == LOADED.isoformat())
    assert day["action"] == bf.RERUN and day["run_id"] == "manual__setup-loaded"
    assert "republished" in day["reason"] and day["outcome"].startswith("cleared")
    wait_for_run(af, "manual__setup-loaded", "success")
    assert history(pipeline, LOADED)[-1] == ("loaded", republished.dump_sha256, "manual__setup-loaded")
    assert [r["dag_run_id"] for r in runs_in_window(af)[LOADED.isoformat()]] == ["manual__setup-loaded"]


def test_quarantined_and_missing_days_never_get_a_run(stack, capsys):
    af, _ = stack
    code, out = backfill(capsys, "--rerun-failed", "--json")
    assert code == 0, out
    doc = json.loads(out)
    assert actions(doc) == {LOADED.isoformat(): bf.SKIP_LOADED, FAILED.isoformat(): bf.SKIP_LOADED,
                            QUARANTINED.isoformat(): bf.SKIP_QUARANTINED, MISSING.isoformat(): bf.SKIP_MISSING,
                            VALID.isoformat(): bf.SKIP_LOADED}
    runs = runs_in_window(af)
    assert QUARANTINED.isoformat() not in runs and MISSING.isoformat() not in runs
    assert {day: len(r) for day, r in runs.items()} == {LOADED.isoformat(): 1, FAILED.isoformat(): 1,
                                                        VALID.isoformat(): 1}
