"""The dbt silver and gold task groups, rendered by astronomer-cosmos from the dbt manifest.

Every task builds into the candidate twins (<layer>_candidate: write-audit-publish, see
transform/publish.py): the cosmos tasks set TOKYOBETA_DBT_CANDIDATES=1 for dbt.

Each group runs ONE dbt process (cosmos' watcher execution mode): its `dbt_producer_watcher`
task runs `dbt build` over the group's models (models only; no tests), and every model keeps a
task of its own (`<model>_run`) that reports that model's result from the build, so the grid
shows and retries models one by one. A dbt process costs ~1.5 s of start-up before any SQL, and
one per model was three quarters of the daily run (README, "The night benchmark").
- The model tasks poke in reschedule mode, not deferred: the local stack and `dag.test` (make
  run, the benches) have no triggerer, and a deferred task run inline would wait for a producer
  that `dag.test` never gets to run.
- A model task retried (or cleared) finds the build finished and runs `dbt run --select` for
  its model alone: a retry never re-runs the whole build. A failed build goes straight to its
  one retry, which cosmos turns into a skip that keeps the model results of the failed try (it
  never runs a second build); the models that failed then fail their own tasks, which retry
  them alone and page once their retries are spent, and the day publishes if they succeed.

The models' tests all run afterwards in ONE dbt process, the audit_candidates task, so a failing
test holds the whole day with one alert naming it (and nothing is published). With
`sources_and_seeds_first` the group starts with one task that tests every staging source and
builds the code-table seeds with their tests, so a bad load stops before silver is touched."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tokyobeta.settings import Settings
from tokyobeta.transform.dbt_project import manifest_path
from tokyobeta.transform.publish import CANDIDATE_ENV

CANDIDATE_BUILD_ENV = {CANDIDATE_ENV: "1"}


def profile_config(cfg: Settings):
    """dbt's profile, built from the warehouse's Airflow connection (no profiles.yml on MWAA)."""
    from cosmos import ProfileConfig
    from cosmos.profiles import MysqlUserPasswordProfileMapping

    return ProfileConfig(
        profile_name="tokyobeta",
        target_name="airflow",
        profile_mapping=MysqlUserPasswordProfileMapping(
            conn_id=cfg.mysql_conn_id,
            profile_args={"schema": cfg.schema("staging"), "threads": 1},
        ),
    )


def dbt_task_group(group_id: str, select: list[str], cfg: Settings, *, sources_and_seeds_first: bool = False,
                   **task_group_kwargs: Any):
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import (PRODUCER_WATCHER_TASK_ID, ExecutionMode, InvocationMode, LoadMode,
                                  SeedRenderingBehavior, TestBehavior)

    project_dir = cfg.dbt_project_path
    profile = profile_config(cfg)
    group = DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=manifest_path(project_dir),
            project_name="tokyobeta",
            install_dbt_deps=False,  # no hub packages: `dbt deps` failing broke the legacy gold job
        ),
        profile_config=profile,
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.WATCHER,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=cfg.dbt_executable_path,
            setup_operator_args={"retries": 1, "retry_delay": timedelta(0),
                                 "dbt_cmd_global_flags": ["--log-format", "json"]},
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select,
            test_behavior=TestBehavior.NONE,
            should_detach_multiple_parents_tests=False,
            seed_rendering_behavior=(SeedRenderingBehavior.NONE if sources_and_seeds_first
                                     else SeedRenderingBehavior.ALWAYS),
        ),
        operator_args={"env": CANDIDATE_BUILD_ENV, "deferrable": False, "mode": "reschedule",
                       "poke_interval": cfg.dbt_watcher_poke_seconds},
        **task_group_kwargs,
    )
    # dbt-core 1.7 takes --log-format only before the subcommand; cosmos puts it after (where
    # dbt >= 1.8 also takes it), so the producer passes it as a global flag instead.
    group.children[f"{group_id}.{PRODUCER_WATCHER_TASK_ID}"].log_format = None
    if sources_and_seeds_first:
        from cosmos.operators.local import DbtBuildLocalOperator

        entry_tasks = list(group.roots)
        first = DbtBuildLocalOperator(
            task_id="staging_sources_and_seeds_build",
            task_group=group,
            project_dir=str(project_dir),
            profile_config=profile,
            dbt_executable_path=cfg.dbt_executable_path,
            invocation_mode=InvocationMode.SUBPROCESS,
            install_deps=False,
            env=CANDIDATE_BUILD_ENV,
            select=["source:staging", "path:seeds"],
            # only tests whose every parent is selected: a relationship from a model to a seed
            # runs with the model (its table may not exist yet)
            indirect_selection="cautious",
        )
        first >> entry_tasks
    return group
