"""Every DAG explains itself on its page: what it does, its settings, how to rerun a day."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models import DagBag

from tokyobeta import settings
from tokyobeta.ui.dagdoc import REQUIRED_SECTIONS

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR), include_examples=False)


def test_every_dag_has_the_operator_sections_and_a_settings_table(dagbag):
    assert dagbag.dags
    for dag_id, dag in dagbag.dags.items():
        for section in REQUIRED_SECTIONS:
            assert section in (dag.doc_md or ""), f"{dag_id} doc_md lacks {section}"
        settings_part = dag.doc_md.split("### Settings", 1)[1].split("### How to rerun a day", 1)[0]
        assert "| setting | default | set by | meaning |" in settings_part, dag_id


def test_every_trigger_form_field_is_documented(dagbag):
    per_run = {knob.param_key: knob.name for knob in settings.KNOBS if knob.per_run}
    for dag_id, dag in dagbag.dags.items():
        for param in dag.params:
            if param in per_run:
                assert f"`{per_run[param]}`" in dag.doc_md, f"{dag_id}: form field {param} is not in its settings table"
            else:
                assert f"`{param}`" in dag.doc_md, f"{dag_id}: form field {param} is not explained"
