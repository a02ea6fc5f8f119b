"""Notes on a task instance and its DAG run: the grid view shows them next to the task, so an
operator sees why a day was skipped without opening a log. Writing a note never fails the task:
the log and the alert already carry the same text."""

from __future__ import annotations

import logging
from typing import Any, Mapping

log = logging.getLogger(__name__)

NOTE_MAX = 1000  # task_instance_note.content and dag_run_note.content are VARCHAR(1000)


def _fit(text: str) -> str:
    return text if len(text) <= NOTE_MAX else text[: NOTE_MAX - 1] + "…"


def explain(context: Mapping[str, Any], text: str) -> None:
    """Sets the task instance's note to `text` and adds it to the DAG run's note."""
    from airflow.models.dagrun import DagRunNote
    from airflow.models.taskinstance import TaskInstanceNote
    from airflow.utils.session import create_session

    ti, dag_run = context["ti"], context["dag_run"]
    # The UI renders notes as Markdown: two trailing spaces keep each line on its own line.
    text = _fit("  \n".join(line.rstrip() for line in text.strip().splitlines()))
    try:
        with create_session() as session:
            key = {"dag_id": ti.dag_id, "task_id": ti.task_id, "run_id": ti.run_id, "map_index": ti.map_index}
            ti_note = session.get(TaskInstanceNote, key)
            if ti_note is None:
                ti_note = TaskInstanceNote(content=text)
                for column, value in key.items():
                    setattr(ti_note, column, value)
                session.add(ti_note)
            else:
                ti_note.content = text
            run_note = session.get(DagRunNote, dag_run.id)
            if run_note is None:
                run_note = DagRunNote(content=text)
                run_note.dag_run_id = dag_run.id
                session.add(run_note)
            elif text not in (run_note.content or ""):
                # An operator's own words stay; the reason is added below them.
                run_note.content = _fit(f"{run_note.content}\n\n{text}" if run_note.content else text)
    except Exception:  # noqa: BLE001 - see the module docstring
        log.exception("could not write the note of %s %s", ti.task_id, ti.run_id)
