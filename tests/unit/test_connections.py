"""Reading an Airflow connection from AIRFLOW_CONN_<ID> without Airflow: only where Airflow itself
would read it from there, with the same fields."""

from __future__ import annotations

import json
import sys

import pytest

from tokyobeta.io import connections


@pytest.fixture
def outside_airflow(monkeypatch, tmp_path):
    """A process that has not imported Airflow, with an airflow.cfg that configures no backend."""
    monkeypatch.delitem(sys.modules, "airflow", raising=False)
    for option in ("BACKEND", "BACKEND_CMD", "BACKEND_SECRET"):
        monkeypatch.delenv(f"AIRFLOW__SECRETS__{option}", raising=False)
    config = tmp_path / "airflow.cfg"
    config.write_text("[core]\ndags_folder = /dags\n[secrets]\n# backend = nothing\nbackend =\n")
    monkeypatch.setenv("AIRFLOW_CONFIG", str(config))
    return config


def test_json_form(outside_airflow, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE", json.dumps({
        "conn_type": "mysql", "host": "db", "port": 3307, "login": "u", "password": "p@ss:/", "schema": "staging",
        "extra": {"charset": "utf8mb4"}}))
    assert connections.from_environment("warehouse") == connections.Connection(
        "mysql", "db", 3307, "u", "p@ss:/", "staging", {"charset": "utf8mb4"})


def test_uri_form_unquotes_and_reads_extra(outside_airflow, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_AWS_X", "aws://AKIA%2FX:se%40cret@/?region_name=ap-northeast-1"
                                             "&endpoint_url=http%3A%2F%2F127.0.0.1%3A5055")
    conn = connections.from_environment("aws_x")
    assert (conn.conn_type, conn.login, conn.password, conn.host) == ("aws", "AKIA/X", "se@cret", None)
    assert conn.extra == {"region_name": "ap-northeast-1", "endpoint_url": "http://127.0.0.1:5055"}
    monkeypatch.setenv("AIRFLOW_CONN_DB", "mysql://u:p@db.example:3306/staging")
    assert connections.from_environment("db") == connections.Connection("mysql", "db.example", 3306, "u", "p", "staging")


def test_a_secrets_backend_or_airflow_in_the_process_leaves_it_to_airflow(outside_airflow, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DB", "mysql://u:p@db:3306/staging")
    assert connections.from_environment("db") is not None
    assert connections.from_environment("absent") is None
    monkeypatch.setenv("AIRFLOW__SECRETS__BACKEND", "airflow.providers.amazon.aws.secrets.secrets_manager."
                                                    "SecretsManagerBackend")
    assert connections.from_environment("db") is None  # the backend comes before the environment
    monkeypatch.delenv("AIRFLOW__SECRETS__BACKEND")
    outside_airflow.write_text("[secrets]\nbackend = my.Backend\nbackend_kwargs = {\"a\": \"%s\"}\n")
    assert connections.from_environment("db") is None
    outside_airflow.write_text("[secrets]\nbackend =\n")
    monkeypatch.setitem(sys.modules, "airflow", sys.modules.get("airflow") or object())
    assert connections.from_environment("db") is None


def test_an_unreadable_variable_is_named(outside_airflow, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_DB", "{not json")
    with pytest.raises(ValueError, match="AIRFLOW_CONN_DB cannot be read"):
        connections.from_environment("db")
