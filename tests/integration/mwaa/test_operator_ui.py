"""The operator's day in the Airflow web UI, in a real browser.

A real `airflow webserver` and `airflow scheduler` (LocalExecutor, PostgreSQL metadata database)
run on loopback from the release bundle, as MWAA would: its dags/ folder, its plugins.zip
unzipped as the plugins folder, its packaged dbt docs. Debian's Chromium, driven headless by
Playwright, logs in, reads the daily DAG's docs, triggers a dump day through the typed trigger
form, waits for the run, clears one task and watches it rerun, triggers a quarantined day and
reads why it was skipped (task note and log), and opens the dbt docs page. Screenshots go to
test-artifacts/ui/ (git-ignored), with the webserver's and scheduler's logs.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
import zipfile
from datetime import date
from pathlib import Path

import pytest

from support.airflow_server import Airflow, fail_stale_runs, running_airflow

pytestmark = pytest.mark.slow

DAG_ID = "tokyobeta_daily_etl"
DAY = date(2026, 3, 16)
QUARANTINED_DAY = date(2026, 3, 17)
USER = "tokyobeta-ui-test"
RUN_TIMEOUT_S = 600
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def artifacts(repo) -> Path:
    path = repo / "test-artifacts" / "ui"
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture(scope="module")
def airflow(pipeline, bundle, artifacts, tmp_path_factory):
    for day in (DAY, QUARANTINED_DAY):
        pipeline.build_source(day)
        manifest = pipeline.publish(day)
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["Body"].read()
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=manifest.dump_key, Body=body[: len(body) // 3])
    fail_stale_runs(DAG_ID)

    plugins = tmp_path_factory.mktemp("plugins")
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        zf.extractall(plugins)
    extra_env = {
        "PYTHONPATH": str(plugins),  # the bundle's tokyobeta package, not this checkout's
        "INCLUDE_DIR": str(bundle / "dags" / "include"),
        "AIRFLOW__COSMOS__DBT_DOCS_DIR": str(bundle / "dags" / "include" / "dbt" / "target"),
    }
    with running_airflow(artifacts, user=USER, dags=bundle / "dags", plugins=plugins,
                         logs=tmp_path_factory.mktemp("airflow-logs"), wait_for_dag=DAG_ID,
                         port=int(os.environ["AIRFLOW_WEBSERVER_PORT"]), extra_env=extra_env) as af:
        yield af


@pytest.fixture(scope="module")
def page(airflow, artifacts):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            context = browser.new_context(viewport={"width": 1440, "height": 1000})
            context.set_default_timeout(30_000)
            yield context.new_page()
        finally:
            browser.close()


def shot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)


def runs_for(airflow: Airflow, day: date) -> list[dict]:
    runs = airflow.api(f"dags/{DAG_ID}/dagRuns?order_by=-execution_date&limit=50")["dag_runs"]
    return [r for r in runs if (r.get("conf") or {}).get("dump_date") == day.isoformat()]


def wait_for_run(airflow: Airflow, day: date) -> dict:
    def finished():
        runs = runs_for(airflow, day)
        return runs[0] if runs and runs[0]["state"] in {"success", "failed"} else None
    return airflow.wait_for(f"the run of {day} to finish", finished, timeout=RUN_TIMEOUT_S, every=3)


def task_instance(airflow: Airflow, run_id: str, task_id: str) -> dict:
    return airflow.api(f"dags/{DAG_ID}/dagRuns/{urllib.request.quote(run_id)}/taskInstances/{task_id}")


def trigger_through_the_form(page, airflow: Airflow, artifacts: Path, fields: dict[str, str], shot_name: str | None):
    page.goto(f"{airflow.base}/dags/{DAG_ID}/trigger")
    for name, value in fields.items():
        page.fill(f"#element_{name}", value)
        page.keyboard.press("Tab")  # leaving a field writes it into the run's conf
    page.locator("h2").first.click()  # and closes the date picker
    if shot_name:
        shot(page, artifacts, shot_name)
    page.get_by_role("button", name="Trigger", exact=True).click()
    try:
        page.get_by_text(f"Triggered {DAG_ID} with new Run ID").wait_for()
    except Exception:
        shot(page, artifacts, "trigger-refused")
        raise


def test_login_and_find_the_daily_dag(page, airflow, artifacts):
    page.goto(f"{airflow.base}/login/")
    page.fill("#username", USER)
    page.fill("#password", airflow.password)
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url(f"{airflow.base}/home")
    assert page.get_by_role("link", name=DAG_ID).first.is_visible()
    shot(page, artifacts, "01-dags")


def test_the_daily_dag_documents_itself(page, airflow, artifacts):
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid")
    docs = page.get_by_text("DAG Docs")
    docs.click()
    for text in ("What it does", "How to rerun a day", "ENRICHMENT_MAX_MODEL_CALLS"):
        assert page.get_by_text(text).first.is_visible(), text
    shot(page, artifacts, "02-dag-docs")


def test_the_trigger_form_has_typed_fields(page, airflow):
    page.goto(f"{airflow.base}/dags/{DAG_ID}/trigger")
    dump_date = page.locator("#element_dump_date")
    assert dump_date.get_attribute("valuetype") == "date"
    assert page.locator(".datepicker #element_dump_date").count() == 1
    for name, low, high in (("kpi_lookback_days", "0", "900"), ("kpi_forward_days", "0", "365")):
        field = page.locator(f"#element_{name}")
        assert field.get_attribute("type") == "number" and field.get_attribute("max") == high, name
    assert page.locator("#element_enrichment_max_model_calls").get_attribute("type") == "number"
    for name in ("enrichment_enabled", "kpi_enabled", "daily_fail_on_archive_error"):
        assert page.locator(f"#element_{name}").get_attribute("list") == f"list_{name}", name
        assert page.locator(f"#list_{name} option").all_inner_texts() == ["true", "false"], name


def test_trigger_a_day_through_the_form_and_see_it_land(page, airflow, artifacts, pipeline):
    trigger_through_the_form(page, airflow, artifacts, {"dump_date": DAY.isoformat(), "kpi_lookback_days": "7",
                                                        "enrichment_enabled": "true"}, "03-trigger-form")
    run = wait_for_run(airflow, DAY)
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run['dag_run_id'])}")
    shot(page, artifacts, "04-run-finished")
    states = {ti["task_id"]: ti["state"] for ti in airflow.api(
        f"dags/{DAG_ID}/dagRuns/{urllib.request.quote(run['dag_run_id'])}/taskInstances?limit=100")["task_instances"]}
    assert run["state"] == "success", {t: s for t, s in states.items() if s != "success"}
    # the form sends every field; the empty ones as null ("use Variable/env/default")
    assert {k: v for k, v in run["conf"].items() if v is not None} == {
        "dump_date": DAY.isoformat(), "kpi_lookback_days": 7, "enrichment_enabled": "true"}
    assert len(states) > 10 and set(states.values()) == {"success"}
    staging = pipeline.schemas["staging"]
    with pipeline.admin.cursor() as cur:
        cur.execute(f"SELECT dump_date FROM `{staging}`.dump_info")
        assert cur.fetchall() == ((DAY,),)


def test_the_tasks_link_to_the_s3_objects_they_used(page, airflow, artifacts, pipeline):
    run_id = runs_for(airflow, DAY)[0]["dag_run_id"]
    links = airflow.api(f"dags/{DAG_ID}/dagRuns/{urllib.request.quote(run_id)}/taskInstances/archive_dump/links")
    archived = f"/{pipeline.bucket}/{pipeline.cfg.archive_prefix}gghouse_{DAY:%Y%m%d}.sql?"
    assert archived in links["S3: archived dump"] and not links["S3: quarantine verdict"]
    manifest_url = airflow.api(f"dags/{DAG_ID}/dagRuns/{urllib.request.quote(run_id)}/taskInstances/"
                               "check_manifest/links")["S3: manifest"]
    with urllib.request.urlopen(manifest_url, timeout=10) as response:
        assert json.loads(response.read())["dump_date"] == DAY.isoformat()
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run_id)}&task_id=check_manifest")
    button = page.get_by_role("link", name="S3: manifest")
    assert button.get_attribute("href").split("?")[0] == manifest_url.split("?")[0]  # signed afresh each time
    shot(page, artifacts, "05-task-s3-links")


def test_clear_one_task_and_see_it_rerun(page, airflow, artifacts):
    run_id = runs_for(airflow, DAY)[0]["dag_run_id"]
    before = task_instance(airflow, run_id, "upsert_kpis")
    assert before["state"] == "success"
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run_id)}&task_id=upsert_kpis")
    page.get_by_role("button", name="Clear and retry task.").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Affected Tasks: 2").wait_for()  # upsert_kpis and, downstream, archive_dump
    shot(page, artifacts, "06-clear-dialog")
    dialog.get_by_role("button", name="Clear", exact=True).click()

    def rerun():
        now = [task_instance(airflow, run_id, t) for t in ("upsert_kpis", "archive_dump")]
        return now if all(ti["state"] == "success" and ti["try_number"] > 1 for ti in now) else None
    after = airflow.wait_for("upsert_kpis and archive_dump to run again", rerun, timeout=RUN_TIMEOUT_S, every=3)
    assert after[0]["try_number"] == before["try_number"] + 1
    assert task_instance(airflow, run_id, "load_staging")["try_number"] == 1  # upstream stays as it was
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run_id)}&task_id=upsert_kpis")
    shot(page, artifacts, "07-task-rerun")


def test_a_quarantined_day_says_why_in_the_note_and_the_log(page, airflow, artifacts):
    trigger_through_the_form(page, airflow, artifacts, {"dump_date": QUARANTINED_DAY.isoformat()}, None)
    run = wait_for_run(airflow, QUARANTINED_DAY)
    run_id = run["dag_run_id"]
    assert run["state"] == "success"
    check = task_instance(airflow, run_id, "check_manifest")
    assert check["state"] == "success" and task_instance(airflow, run_id, "load_staging")["state"] == "skipped"
    reason = f"QUARANTINED dump {QUARANTINED_DAY}: TRUNCATED_DUMP"
    assert check["note"].startswith(reason) and run["note"].startswith(reason)

    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run_id)}&task_id=check_manifest")
    page.get_by_text(reason).first.wait_for()  # in the Task Instance Notes panel
    shot(page, artifacts, "08-quarantine-note")
    page.goto(f"{airflow.base}/dags/{DAG_ID}/grid?dag_run_id={urllib.request.quote(run_id)}"
              "&task_id=check_manifest&tab=logs")
    page.get_by_text(reason).first.wait_for()
    assert page.get_by_text("Nothing was loaded; staging still holds the previous good load.").first.is_visible()
    shot(page, artifacts, "09-quarantine-log")


def test_the_dbt_docs_are_served_inside_airflow(page, airflow, artifacts):
    page.goto(f"{airflow.base}/home")
    page.locator("a.dropdown-toggle", has_text="Browse").click()
    page.get_by_role("link", name="dbt Docs").click()
    page.wait_for_url(f"{airflow.base}/cosmos/dbt_docs")
    docs = page.frame_locator("iframe")
    docs.get_by_text("Projects").first.wait_for(timeout=60_000)
    frame = next(f for f in page.frames if "dbt_docs_index" in f.url)
    frame.evaluate("location.hash = '#!/model/model.tokyobeta.occupancy_by_apartment'")
    # the model's description from include/dbt/models/gold/_gold.yml, served from the bundle
    docs.get_by_text("Occupancy per apartment per snapshot day").first.wait_for()
    docs.get_by_text("staging.apartments.id").first.wait_for()  # a column's description
    # The docs describe production (schema gold, not the tests' prefix). Read from the served
    # manifest rather than the page: the page shows the relation only for tables in the catalog,
    # which depends on whether this machine's unprefixed warehouse has been built by a demo.
    served = page.request.get(f"{airflow.base}/cosmos/manifest.json").json()
    assert served["nodes"]["model.tokyobeta.occupancy_by_apartment"]["schema"] == "gold"
    shot(page, artifacts, "10-dbt-docs")
    docs.locator("a[title='View Lineage Graph']").click()
    docs.locator("#cy canvas").first.wait_for()
    page.wait_for_timeout(2000)  # the graph lays itself out
    shot(page, artifacts, "11-dbt-lineage")
