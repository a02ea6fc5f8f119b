"""The cosmos task groups of tokyobeta_daily_etl: one `dbt run` task per model into the
candidate schemas, the staging source tests and seeds first, and every dbt test of the project
run exactly once: by that first task or by audit_candidates (asked of dbt itself with each
one's own selection)."""

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


def test_one_run_task_per_model_into_the_candidates_and_sources_and_seeds_first(dag, cfg):
    from tokyobeta.transform.publish import CANDIDATE_ENV

    manifest = json.loads((cfg.dbt_project_path / "target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    tasks = dbt_tasks(dag)
    first = dag.get_task("dbt_silver.staging_sources_and_seeds_build")
    assert type(first).__name__ == "DbtBuildLocalOperator"
    assert first.upstream_task_ids == {"enrich"}
    assert (first.select, first.indirect_selection) == (["source:staging", "path:seeds"], "cautious")
    model_tasks = [t for t in tasks if t is not first]
    assert {type(t).__name__ for t in model_tasks} == {"DbtRunLocalOperator"}
    assert {t.task_id.split(".")[1].removesuffix("_run") for t in model_tasks} == models
    # every dbt task writes the candidates, never the live schemas
    assert all(t.env.get(CANDIDATE_ENV) == "1" and t.append_env for t in tasks)
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
    from tokyobeta.transform.publish import AUDIT_SELECT

    every_test = dbt_ls_tests(cfg, tmp_path)
    first = dag.get_task("dbt_silver.staging_sources_and_seeds_build")
    selections = {first.task_id: ["--select", *first.select, "--indirect-selection", first.indirect_selection],
                  "audit_candidates": ["--select", *AUDIT_SELECT]}
    runs: dict[str, list[str]] = {}
    for task_id, selection in selections.items():
        for test in dbt_ls_tests(cfg, tmp_path, *selection):
            runs.setdefault(test, []).append(task_id)
    assert len(every_test) > 80
    assert set(runs) == every_test, sorted(every_test - set(runs))
    assert {t: ts for t, ts in runs.items() if len(ts) > 1} == {}
