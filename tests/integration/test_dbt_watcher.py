"""The dbt groups of the daily DAG in cosmos' watcher mode, through dag.test against MariaDB, moto
and the dbt virtualenv: each group's one `dbt build` reports every model to that model's task,
and a model task on its second try, after the build failed, rebuilds its model alone into the
candidates (the retry the grid offers per model)."""

from __future__ import annotations

import os
from datetime import date

import pytest

from support.db import checksums
from tokyobeta.ops.rundag import load_dag, logical_date_for

pytestmark = pytest.mark.slow

DAY = date(2026, 5, 11)
DAG_ID = "tokyobeta_daily_etl"
MODEL = "occupancy_by_apartment"
AFTER_THE_BUILD = "audit_candidates|publish_silver_gold|upsert_kpis|archive_dump"


@pytest.fixture(scope="module")
def day_run(pipeline):
    """The day built into the candidates and left there: the steps from the audit on are marked
    done without running, so a retry below finds the candidates as the build left them."""
    from tokyobeta.ops import rundag

    pipeline.build_source(DAY)
    pipeline.publish(DAY)
    state, tasks = rundag.run_day(DAG_ID, DAY, mark_success_pattern=AFTER_THE_BUILD)
    tasks = dict(tasks)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    return tasks


def task_instances(*task_ids: str):
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    from tokyobeta import settings

    logical = logical_date_for(DAY, settings.from_env().daily_schedule)
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.execution_date == logical).one()
        tis = [run.get_task_instance(t, session=session) for t in task_ids]
        session.expunge_all()
    return tis


def test_each_group_builds_every_model_in_its_one_dbt_process(day_run, cfg):
    import json

    manifest = json.loads((cfg.dbt_project_path / "target" / "manifest.json").read_text())
    for group in ("dbt_silver", "dbt_gold"):
        models = {n["name"] for n in manifest["nodes"].values()
                  if n["resource_type"] == "model" and n["fqn"][1] == group.removeprefix("dbt_")}
        assert models and all(day_run[f"{group}.{m}_run"] == "success" for m in models)
        [producer] = task_instances(f"{group}.dbt_producer_watcher")
        assert producer.state == "success" and producer.try_number == 1
        statuses = {m: producer.xcom_pull(task_ids=producer.task_id, key=f"model__tokyobeta__{m}_status")
                    for m in models}
        assert {m: (s or {}).get("status") for m, s in statuses.items()} == {m: "success" for m in models}


def test_a_model_task_retried_after_a_failed_build_rebuilds_its_model_alone(day_run, pipeline):
    from airflow.utils.session import create_session

    candidate = pipeline.schemas["gold_candidate"]
    built = checksums(pipeline.admin, candidate)
    with pipeline.admin.cursor() as cur:
        # what a build that failed on the model leaves: the day's rows of its twin gone
        cur.execute(f"DELETE FROM `{candidate}`.`{MODEL}` WHERE snapshot_date = %s", (DAY,))
    pipeline.admin.commit()
    assert checksums(pipeline.admin, candidate)[MODEL] != built[MODEL]

    producer, ti = task_instances("dbt_gold.dbt_producer_watcher", f"dbt_gold.{MODEL}_run")
    # a failed build's one retry ends skipped (cosmos never runs a second build)
    producer.state, ti.state, ti.try_number = "skipped", None, 2
    with create_session() as session:
        session.merge(producer)
        session.merge(ti)
    ti.task = load_dag(DAG_ID).get_task(ti.task_id)
    saved_env = dict(os.environ)  # cosmos' lineage extraction copies the dbt env into this process
    try:
        ti.run(ignore_all_deps=True, ignore_ti_state=True)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)

    [ti] = task_instances(ti.task_id)
    assert (ti.state, ti.try_number) == ("success", 2)
    # the day's model rebuilt as the build made it, and no other table touched
    assert checksums(pipeline.admin, candidate) == built
