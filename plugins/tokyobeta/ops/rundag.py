"""Runs one dump day of a DAG in this process (what `airflow dags test` does) and reports
every task's final state, so scripts can fail loudly on a failed run."""

from __future__ import annotations

import os
from datetime import date, datetime, time
from typing import Any

from croniter import croniter

from tokyobeta.dates import TOKYO


def logical_date_for(day: date, cron: str) -> datetime:
    """The scheduled slot of `day` in JST, so a manual run and the scheduled one share a date."""
    midnight = datetime.combine(day, time(0, 0), tzinfo=TOKYO)
    if croniter.match(cron, midnight):
        return midnight
    return croniter(cron, midnight).get_next(datetime)


def load_dag(dag_id: str) -> Any:
    from airflow.models import DagBag

    bag = DagBag(include_examples=False)
    if dag_id not in bag.dags:
        errors = "\n".join(f"{path}: {err}" for path, err in bag.import_errors.items())
        raise RuntimeError(f"DAG {dag_id} not found in the DAG folder.\n{errors}")
    return bag.dags[dag_id]


def test_run(dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None,
             mark_success_pattern: str | None = None) -> Any:
    """One run of any DAG at `logical_date` (the DagRun, its task instances with their times);
    tasks matching `mark_success_pattern` are marked success without running."""
    dag = load_dag(dag_id)
    # On a worker every task has its own process; here they share this one, and cosmos' OpenLineage
    # extraction copies a dbt task's env into os.environ for good (cosmos/operators/local.py,
    # calculate_openlineage_events_completes). Without the restore, the candidate flag of one run's
    # dbt tasks would turn a later plain `dbt build` in this process into a candidate build.
    saved_env = dict(os.environ)
    try:
        return dag.test(execution_date=logical_date, run_conf=conf, mark_success_pattern=mark_success_pattern)
    finally:
        os.environ.clear()
        os.environ.update(saved_env)


def run_dag(dag_id: str, logical_date: datetime, conf: dict[str, Any] | None = None,
            mark_success_pattern: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    """The run's state and every task's final state (how tests run a single step of the daily
    DAG: the other tasks match `mark_success_pattern`)."""
    run = test_run(dag_id, logical_date, conf, mark_success_pattern)
    states = sorted((ti.task_id, str(ti.state)) for ti in run.get_task_instances())
    return str(run.state), states


def run_day(dag_id: str, day: date, conf: dict[str, Any] | None = None,
            mark_success_pattern: str | None = None) -> tuple[str, list[tuple[str, str]]]:
    from tokyobeta import settings

    logical = logical_date_for(day, settings.from_env().daily_schedule)
    return run_dag(dag_id, logical, {"dump_date": day.isoformat(), **(conf or {})}, mark_success_pattern)
