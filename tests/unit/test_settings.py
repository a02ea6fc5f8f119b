from __future__ import annotations

from datetime import time

import pytest

from tokyobeta import settings


def test_defaults(monkeypatch):
    monkeypatch.delenv("DAILY_FAIL_ON_ARCHIVE_ERROR", raising=False)
    monkeypatch.delenv("STALENESS_THRESHOLD_DAYS", raising=False)
    cfg = settings.Settings()
    assert cfg.daily_fail_on_archive_error is False
    assert cfg.staleness_threshold_days == 2.0
    assert cfg.sla_gold_deadline == time(8, 30)


def test_env_overrides_default_and_params_override_env(monkeypatch):
    monkeypatch.setenv("KPI_LOOKBACK_DAYS", "10")
    assert settings.Settings().kpi_lookback_days == 10
    assert settings.Settings({"kpi_lookback_days": 3}).kpi_lookback_days == 3
    # an empty form field means "not set here"
    assert settings.Settings({"kpi_lookback_days": None}).kpi_lookback_days == 10


def test_params_cannot_override_non_run_knobs(monkeypatch):
    monkeypatch.setenv("DUMP_BUCKET", "the-bucket")
    assert settings.Settings({"dump_bucket": "attacker"}).dump_bucket == "the-bucket"


def test_bad_value_names_knob_and_origin(monkeypatch):
    monkeypatch.setenv("DAILY_FAIL_ON_ARCHIVE_ERROR", "maybe")
    with pytest.raises(settings.SettingError, match="DAILY_FAIL_ON_ARCHIVE_ERROR from environment variable"):
        settings.Settings().daily_fail_on_archive_error


def test_schema_prefix_and_keys(monkeypatch):
    monkeypatch.setenv("SCHEMA_PREFIX", "t_")
    monkeypatch.setenv("DUMPS_PREFIX", "raw/dumps")
    cfg = settings.Settings()
    assert cfg.schema("gold") == "t_gold"
    from datetime import date
    assert cfg.dump_key(date(2026, 2, 1)) == "raw/dumps/gghouse_20260201.sql"


def test_readme_configuration_table_is_current(repo):
    readme = (repo / "README.md").read_text(encoding="utf-8")
    # A merge once left a second, stale end marker and rows mid-README; one table, one place.
    assert readme.count(settings.README_START) == 1 and readme.count(settings.README_END) == 1
    start, end = readme.index(settings.README_START), readme.index(settings.README_END)
    table = readme[start + len(settings.README_START):end].strip()
    assert table == settings.markdown_table(), "regenerate README's table with `tokyobeta settings --markdown`"


def test_mwaa_configuration_option_is_read_after_the_plain_environment_variable(monkeypatch):
    # MWAA exports the option tokyobeta.dump_bucket as AIRFLOW__TOKYOBETA__DUMP_BUCKET
    monkeypatch.delenv("DUMP_BUCKET", raising=False)
    monkeypatch.setenv("AIRFLOW__TOKYOBETA__DUMP_BUCKET", "from-mwaa")
    assert settings.Settings().dump_bucket == "from-mwaa"
    monkeypatch.setenv("DUMP_BUCKET", "from-env")
    assert settings.Settings().dump_bucket == "from-env"
    monkeypatch.setenv("AIRFLOW__TOKYOBETA__SLA_EMAILS", "a@example.com, b@example.com")
    assert settings.Settings().sla_emails == ("a@example.com", "b@example.com")
    monkeypatch.setenv("AIRFLOW__TOKYOBETA__STALENESS_THRESHOLD_DAYS", "soon")
    monkeypatch.delenv("STALENESS_THRESHOLD_DAYS", raising=False)
    with pytest.raises(settings.SettingError, match="AIRFLOW__TOKYOBETA__STALENESS_THRESHOLD_DAYS"):
        settings.Settings().staleness_threshold_days
