"""A DAG's doc_md: the operator's page above the grid. The DAG file's docstring says what the DAG
does and how to rerun a day; the settings table is generated from settings.KNOBS, so it shows
the same defaults and sources as README.md and never drifts from the code."""

from __future__ import annotations

from typing import Sequence

from tokyobeta import settings

REQUIRED_SECTIONS = ("### What it does", "### Settings", "### How to rerun a day")


def render(docstring: str | None, knob_names: Sequence[str]) -> str:
    """The docstring, with the settings table in place of its `### Settings` heading."""
    text = (docstring or "").strip()
    missing = [section for section in REQUIRED_SECTIONS if section not in text]
    if missing:
        raise ValueError(f"the DAG docstring lacks {missing}: every DAG documents what it does, "
                         "its settings and how to rerun a day")
    intro = ("Each setting is read, first hit wins, from the run's params (trigger form), the Airflow "
             "Variable of that name, the environment, then the default.")
    return text.replace("### Settings", f"### Settings\n\n{intro}\n\n{settings.markdown_table(knob_names)}", 1)
