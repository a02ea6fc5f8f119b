"""The cosmos task groups of tokyobeta_daily_etl: one `dbt build` per group (cosmos' watcher
mode) and a task per model that reports and retries that model, all into the candidate schemas;
the staging source tests and seeds first; and every dbt test of the project run exactly once: by
that first task or by audit_candidates (asked of dbt itself with each one's own selection)."""

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


def test_one_build_per_group_a_task_per_model_into_the_candidates_and_sources_and_seeds_first(dag, cfg):
    from tokyobeta.transform.publish import CANDIDATE_ENV

    manifest = json.loads((cfg.dbt_project_path / "target" / "manifest.json").read_text())
    models = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "model"}
    tasks = dbt_tasks(dag)
    first = dag.get_task("dbt_silver.staging_sources_and_seeds_build")
    assert type(first).__name__ == "DbtBuildLocalOperator"
    assert first.upstream_task_ids == {"enrich"}
    assert (first.select, first.indirect_selection) == (["source:staging", "path:seeds"], "cautious")
    producers = {t.task_id: t for t in tasks if type(t).__name__ == "DbtProducerWatcherOperator"}
    gates = {t.task_id: t for t in tasks if t.task_id.endswith(".dbt_producer_watcher_done")}
    assert set(producers) == {"dbt_silver.dbt_producer_watcher", "dbt_gold.dbt_producer_watcher"}
    for producer in producers.values():
        # one dbt process builds the group's models; tests wait for the audit; dbt 1.7 takes
        # --log-format (which the model tasks read results from) only before the subcommand
        cmd, _ = producer.build_cmd(context={}, cmd_flags=producer.add_cmd_flags())
        build = cmd.index("build")
        assert cmd[build - 2:build] == ["--log-format", "json"] and "--log-format" not in cmd[build:], cmd
        assert "test" not in cmd[cmd.index("--resource-type"):]
        assert not any(s.startswith("path:seeds") for s in str(producer.select).split()), producer.select
    # a failed build retries at once, and cosmos makes that try a skip that keeps its results,
    # so the gate passes and a model rebuilt by its own task's retry publishes
    assert {(p.retries, p.retry_delay.total_seconds()) for p in producers.values()} == {(1, 0)}
    assert {g.trigger_rule for g in gates.values()} == {"none_failed"}
    assert dag.get_task("dbt_silver.dbt_producer_watcher").upstream_task_ids == {first.task_id}
    model_tasks = [t for t in tasks if t is not first and t.task_id not in producers and t.task_id not in gates]
    assert {type(t).__name__ for t in model_tasks} == {"DbtRunWatcherOperator"}
    assert {t.task_id.split(".")[1].removesuffix("_run") for t in model_tasks} == models
    # the model tasks wait in reschedule mode: the local stack and dag.test have no triggerer
    assert {(t.mode, t.deferrable, t.poke_interval) for t in model_tasks} == {
        ("reschedule", False, cfg.dbt_watcher_poke_seconds)}
    # every dbt task writes the candidates, never the live schemas
    assert all(t.env.get(CANDIDATE_ENV) == "1" and t.append_env for t in [first, *producers.values(), *model_tasks])
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
