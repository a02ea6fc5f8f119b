"""Reads the Airflow metadata database: which runs exist and how they ended. Used by the
freshness check (hours since the daily DAG's last success) and the SLA-miss callback."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class RunInfo:
    run_id: str
    state: str
    unfinished: list[tuple[str, str]] = field(default_factory=list)


def run_at(dag_id: str, logical_date: datetime) -> RunInfo | None:
    """The run of `dag_id` at `logical_date` and its tasks that have not succeeded or been skipped."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.execution_date == logical_date))
        if run is None:
            return None
        unfinished = sorted((ti.task_id, str(ti.state)) for ti in run.get_task_instances(session=session)
                            if str(ti.state) not in {"success", "skipped"})
        return RunInfo(run.run_id, str(run.state), unfinished)


def newest_success(dag_id: str, not_after: datetime) -> datetime | None:
    """Logical date of the newest successful run of `dag_id` whose slot is not after `not_after`."""
    from airflow.models import DagRun
    from airflow.utils.session import create_session
    from airflow.utils.state import DagRunState
    from sqlalchemy import func, select

    with create_session() as session:
        return session.scalar(select(func.max(DagRun.execution_date)).where(
            DagRun.dag_id == dag_id, DagRun.state == DagRunState.SUCCESS, DagRun.execution_date <= not_after))
