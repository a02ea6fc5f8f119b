"""The operator-facing texts and links: DAG docs, the trigger form's params, S3 link URLs."""

from __future__ import annotations

import pytest

from tokyobeta import dagkit, settings
from tokyobeta.ui import dagdoc, links

DOC = """## some_dag

### What it does
Things.

### Settings

### How to rerun a day
Trigger it.
"""


def test_doc_md_gets_the_settings_table_from_the_knobs(monkeypatch):
    text = dagdoc.render(DOC, ["KPI_LOOKBACK_DAYS", "DUMP_BUCKET"])
    table = text.split("### Settings", 1)[1].split("### How to rerun a day")[0]
    assert "| `KPI_LOOKBACK_DAYS` | `30` | DAG param `kpi_lookback_days`, Variable, env |" in table
    assert "| `DUMP_BUCKET` | `tokyobeta-dumps` | Variable, env |" in table
    assert text.startswith("## some_dag") and text.rstrip().endswith("Trigger it.")


def test_doc_md_refuses_missing_sections_and_unknown_settings():
    with pytest.raises(ValueError, match=r"lacks \['### How to rerun a day'\]"):
        dagdoc.render(DOC.split("### How to rerun")[0], [])
    with pytest.raises(ValueError, match=r"settings that do not exist: \['NO_SUCH_KNOB'\]"):
        dagdoc.render(DOC, ["NO_SUCH_KNOB"])


@pytest.mark.parametrize("value, ok", [(None, True), (True, True), (False, True), ("true", True), ("false", True),
                                       ("yes", False), ("", False), (1, False)])
def test_boolean_params_take_the_forms_text_and_json_booleans(value, ok):
    from airflow.exceptions import ParamValidationError
    from airflow.models.param import ParamsDict

    params = ParamsDict(dagkit.daily_params())
    params["enrichment_enabled"] = value if ok else None
    params.validate()
    if not ok:
        with pytest.raises(ParamValidationError):
            params["enrichment_enabled"] = value


def test_the_forms_text_reaches_the_setting_as_a_boolean():
    assert settings.Settings({"enrichment_enabled": "false"}).enrichment_enabled is False
    assert settings.Settings({"daily_fail_on_archive_error": "true"}).daily_fail_on_archive_error is True


def test_console_links_quote_the_key(monkeypatch):
    monkeypatch.setenv("S3_LINKS", "console")
    url = links.browser_url("s3://tokyobeta-dumps/dumps/gghouse 2026.sql")
    assert url == "https://console.aws.amazon.com/s3/object/tokyobeta-dumps?prefix=dumps%2Fgghouse%202026.sql"
    monkeypatch.setenv("S3_LINKS", "browser")
    with pytest.raises(settings.SettingError, match="S3_LINKS from environment variable S3_LINKS is invalid: .browser. is not one of console, presigned"):
        links.browser_url("s3://b/k")
