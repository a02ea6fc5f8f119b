"""The cosmos task groups of tokyobeta_daily_etl: one `dbt build` task per model, the staging
source tests and seeds first, and every dbt test of the project run by exactly the tasks the
DAG has (asked of dbt itself with each task's own selection)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from airflow.models import DagBag

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dag():
    return DagBag(dag_folder=str(DAGS_DIR), include_examples=False).dags["tokyobeta_daily_etl"]


def dbt_tasks(dag) -> list:
    return [t for t in dag.tasks if t.task_id.startswith(("dbt_silver.", "dbt_gold."))]


def test_one_build_task_per_model_and_sources_and_seeds_first(dag, cfg):
    manifest = json.loads((cfg.dbt_project_path / "target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    tasks = dbt_tasks(dag)
    assert {type(t).__name__ for t in tasks} == {"DbtBuildLocalOperator"}
    first = dag.get_task("dbt_silver.staging_sources_and_seeds_build")
    assert first.upstream_task_ids == {"enrich"}
    assert (first.select, first.indirect_selection) == (["source:staging", "path:seeds"], "cautious")
    model_tasks = [t for t in tasks if t is not first]
    assert {t.task_id.split(".")[1].removesuffix("_model_build") for t in model_tasks} == models
    assert all(t.indirect_selection == "buildable" for t in model_tasks)
    silver_roots = [t for t in model_tasks if t.task_id.startswith("dbt_silver.")
                    and not any(u.startswith("dbt_silver.") and u != first.task_id for u in t.upstream_task_ids)]
    assert [t.upstream_task_ids for t in silver_roots] == [{first.task_id}]


def dbt_ls_tests(cfg, tmp_path, *selection: str) -> set[str]:
    project = str(cfg.dbt_project_path)
    proc = subprocess.run(
        [cfg.dbt_executable_path, "ls", "--resource-type", "test", "--output", "name", *selection,
         "--project-dir", project, "--profiles-dir", project, "--target", "local", "--quiet",
         "--target-path", str(tmp_path / "target"), "--log-path", str(tmp_path / "logs")],
        capture_output=True, text=True, env={**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"}, cwd=project)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return {line.strip() for line in proc.stdout.splitlines() if line.strip()}


@pytest.mark.slow
def test_every_dbt_test_runs_in_exactly_one_task(dag, cfg, tmp_path):
    every_test = dbt_ls_tests(cfg, tmp_path)
    runs: dict[str, list[str]] = {}
    for task in dbt_tasks(dag):
        select = task.select if isinstance(task.select, list) else [task.select]
        for test in dbt_ls_tests(cfg, tmp_path, "--select", *select, "--indirect-selection", task.indirect_selection):
            runs.setdefault(test, []).append(task.task_id)
    assert len(every_test) > 80
    assert set(runs) == every_test, sorted(every_test - set(runs))
    assert {t: ts for t, ts in runs.items() if len(ts) > 1} == {}
