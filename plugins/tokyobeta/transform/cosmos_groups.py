"""The dbt silver and gold task groups, rendered by astronomer-cosmos from the dbt manifest."""

from __future__ import annotations

from typing import Any

from tokyobeta.settings import Settings
from tokyobeta.transform.dbt_project import manifest_path


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


def dbt_task_group(group_id: str, select: list[str], cfg: Settings, **task_group_kwargs: Any):
    from cosmos import DbtTaskGroup, ExecutionConfig, ProjectConfig, RenderConfig
    from cosmos.constants import ExecutionMode, InvocationMode, LoadMode, TestBehavior

    project_dir = cfg.dbt_project_path
    return DbtTaskGroup(
        group_id=group_id,
        project_config=ProjectConfig(
            dbt_project_path=project_dir,
            manifest_path=manifest_path(project_dir),
            project_name="tokyobeta",
            install_dbt_deps=False,  # no hub packages: `dbt deps` failing broke the legacy gold job
        ),
        profile_config=profile_config(cfg),
        execution_config=ExecutionConfig(
            execution_mode=ExecutionMode.LOCAL,
            invocation_mode=InvocationMode.SUBPROCESS,
            dbt_executable_path=cfg.dbt_executable_path,
        ),
        render_config=RenderConfig(
            load_method=LoadMode.DBT_MANIFEST,
            select=select,
            test_behavior=TestBehavior.AFTER_EACH,
            # A test over two models (e.g. a relationship) runs once both exist, in its own task.
            should_detach_multiple_parents_tests=True,
        ),
        **task_group_kwargs,
    )
