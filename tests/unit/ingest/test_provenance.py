"""The expected source: from the configured secret or explicit settings, never a default.
The Secrets Manager path against moto is covered in tests/integration/ingest/test_day.py."""

from __future__ import annotations

import json

import pytest

from tokyobeta import settings
from tokyobeta.ingest import provenance
from tokyobeta.ingest.manifest import ExpectedSource


def test_secret_fields():
    assert provenance.from_secret(json.dumps({"host": " db.example ", "dbname": "gghouse", "password": "x"}),
                                  "s") == ExpectedSource("db.example", "gghouse")


@pytest.mark.parametrize("secret, missing", [
    ({"host": "db.example"}, "dbname"),
    ({"host": "", "dbname": "gghouse"}, "host"),
    ({"dbname": "  "}, "host, dbname"),
])
def test_missing_or_empty_field_is_a_configuration_error_without_fallback(secret, missing):
    with pytest.raises(provenance.ProvenanceConfigError, match=f"tokyobeta/prod/x has no value for {missing}"):
        provenance.from_secret(json.dumps(secret), "tokyobeta/prod/x")


def test_secret_that_is_not_json():
    with pytest.raises(provenance.ProvenanceConfigError, match="not a JSON object"):
        provenance.from_secret("host=db", "s")


class NoSecrets:
    """No Secrets Manager at all: explicit settings must not need one."""

    def get_secret_value(self, **_):
        raise AssertionError("the secret must not be read when EXPECTED_SOURCE_* are set")


def test_explicit_setting_wins_over_the_secret(monkeypatch):
    monkeypatch.setenv("EXPECTED_SOURCE_HOST", "db.example")
    monkeypatch.setenv("EXPECTED_SOURCE_DATABASE", "gghouse")
    assert provenance.expected_source(settings.Settings(), NoSecrets()) == ExpectedSource("db.example", "gghouse")


def test_half_an_explicit_setting_is_an_error(monkeypatch):
    monkeypatch.setenv("EXPECTED_SOURCE_HOST", "db.example")
    monkeypatch.delenv("EXPECTED_SOURCE_DATABASE", raising=False)
    with pytest.raises(provenance.ProvenanceConfigError, match="both EXPECTED_SOURCE_HOST and EXPECTED_SOURCE_DATABASE"):
        provenance.expected_source(settings.Settings(), NoSecrets())
