"""The dbt silver and gold task groups, rendered by astronomer-cosmos from the dbt manifest.

Every task builds into the candidate twins (<layer>_candidate: write-audit-publish, see
transform/publish.py): the cosmos tasks set TOKYOBETA_DBT_CANDIDATES=1 for dbt. Each model is
one task running `dbt run --select <it>` (TestBehavior.NONE), visible and retryable on its own;
the models' tests all run afterwards in ONE dbt process, the audit_candidates task, so a failing
test holds the whole day with one alert naming it (and nothing is published). With
`sources_and_seeds_first` the group starts with one task that tests every staging source and
builds the code-table seeds with their tests, so a bad load stops before silver is touched."""

from __future__ import annotations

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
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, SeedRenderingBehavior, TestBehavior

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
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=cfg.dbt_executable_path,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select,
            test_behavior=TestBehavior.NONE,
            should_detach_multiple_parents_tests=False,
            seed_rendering_behavior=(SeedRenderingBehavior.NONE if sources_and_seeds_first
                                     else SeedRenderingBehavior.ALWAYS),
        ),
        operator_args={"env": CANDIDATE_BUILD_ENV},
        **task_group_kwargs,
    )
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
