"""A quarantined day explains itself where operators look: the task's note and the DAG run's
note (the grid view), the task's log, and links from the task to the S3 objects it used."""

from __future__ import annotations

import json
import logging
import urllib.request
from datetime import date

import pytest

from tokyobeta.ops.rundag import logical_date_for

pytestmark = pytest.mark.slow

DAY = date(2026, 3, 9)
DAG_ID = "tokyobeta_daily_etl"
REASON = "TRUNCATED_DUMP"  # the dump is shorter than its manifest says


@pytest.fixture(scope="module")
def quarantined_run(pipeline):
    pipeline.build_source(DAY, scale=0.02)
    manifest = pipeline.publish(DAY)
    # A dump cut short in transfer: the manifest still describes the whole file.
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["Body"].read()
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=manifest.dump_key, Body=body[: len(body) // 2])
    handler = _Capture()
    logging.getLogger("tokyobeta").addHandler(handler)
    try:
        state, tasks = pipeline.run(DAY)
    finally:
        logging.getLogger("tokyobeta").removeHandler(handler)
    return {"state": state, "tasks": tasks, "manifest": manifest, "log": handler.text, "alerts": pipeline.alerts()}


class _Capture(logging.Handler):
    def __init__(self):
        super().__init__(logging.INFO)
        self.text = ""

    def emit(self, record):
        self.text += self.format(record) + "\n"


def _run_and_ti(task_id: str):
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from tokyobeta import settings

    logical = logical_date_for(DAY, settings.from_env().daily_schedule)
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.execution_date == logical).one()
        ti = session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id=task_id).one()
        return {"run_note": run.note, "ti_note": ti.note, "ti_key": ti.key, "state": ti.state}


def test_the_day_is_skipped_not_failed(quarantined_run):
    tasks = quarantined_run["tasks"]
    assert quarantined_run["state"] == "success"
    assert tasks["check_manifest"] == "success" and tasks["load_staging"] == "skipped"
    # heartbeat runs beside the chain: it proves the scheduler ran the day, loaded or not
    assert {s for t, s in tasks.items() if t not in {"heartbeat", "wait_for_manifest", "check_manifest"}} == {"skipped"}
    [alert] = quarantined_run["alerts"]
    assert alert["Subject"].endswith(f"QUARANTINED dump {DAY}: {REASON}")


def test_the_reason_is_in_the_task_note_the_run_note_and_the_log(quarantined_run):
    seen = _run_and_ti("check_manifest")
    for note in (seen["ti_note"], seen["run_note"]):
        assert note.startswith(f"QUARANTINED dump {DAY}: {REASON}"), note
        assert "Nothing was loaded; staging still holds the previous good load." in note
    assert f"QUARANTINED dump {DAY}: {REASON}" in quarantined_run["log"]
    assert _run_and_ti("load_staging")["ti_note"] is None


def test_the_task_links_open_the_objects_it_used(quarantined_run, pipeline):
    from airflow.models import DagBag

    from tokyobeta.ui import links

    task = DagBag(include_examples=False).dags[DAG_ID].get_task("check_manifest")
    ti_key = _run_and_ti("check_manifest")["ti_key"]
    urls = {link.label: link.get_link(task, ti_key=ti_key) for link in links.S3_OBJECT_LINKS}
    assert urls["archive"] == ""
    manifest = quarantined_run["manifest"]
    with urllib.request.urlopen(urls["manifest"], timeout=10) as response:
        assert json.loads(response.read())["dump_sha256"] == manifest.dump_sha256
    with urllib.request.urlopen(urls["quarantine"], timeout=10) as response:
        verdict = json.loads(response.read())
    assert verdict["reasons"] == [REASON] and verdict["dump_date"] == DAY.isoformat()
    assert urls["dump"].split("?")[0].endswith(f"/{pipeline.bucket}/{manifest.dump_key}")
