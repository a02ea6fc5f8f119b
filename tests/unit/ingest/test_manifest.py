from __future__ import annotations

import json
from datetime import date

import pytest

from tokyobeta.ingest import manifest as m

DAY = date(2026, 2, 18)
GOOD = {
    "manifest_version": 1,
    "dump_date": "2026-02-18",
    "dump_key": "dumps/gghouse_20260218.sql",
    "dump_bytes": 947000000,
    "dump_sha256": "a" * 64,
    "source": {"host": "db.example", "database": "gghouse", "secret_id": "tokyobeta/prod/rds/cron-credentials"},
    "source_valid": True,
    "valid_for_etl": True,
    "reason_codes": [],
    "table_row_counts": {"tenants": 1, "movings": 2, "rooms": 3, "apartments": 4, "inquiries": 5},
    "dump_started_at": "2026-02-18T01:40:00Z",
    "dump_finished_at": "2026-02-18T01:46:00Z",
    "published_at": "2026-02-18T01:46:30Z",
}
EXPECTED = m.ExpectedSource("db.example", "gghouse")


def doc(**changes) -> str:
    d = json.loads(json.dumps(GOOD))
    for key, value in changes.items():
        if value is ...:
            d.pop(key)
        else:
            d[key] = value
    return json.dumps(d)


def test_parses_contract_example():
    parsed = m.parse(doc(), expected_date=DAY)
    assert parsed.dump_date == DAY
    assert parsed.table_row_counts["inquiries"] == 5
    assert parsed.gzip is False
    assert json.loads(parsed.to_json()) == GOOD


@pytest.mark.parametrize("changes, field, fragment", [
    ({"manifest_version": 2}, "manifest_version", "unknown version 2"),
    ({"dump_sha256": ...}, "dump_sha256", "missing"),
    ({"dump_bytes": "947"}, "dump_bytes", "expected an integer"),
    ({"dump_bytes": True}, "dump_bytes", "boolean"),
    ({"dump_date": "2026-02-30"}, "dump_date", "not a date"),
    ({"dump_key": "dumps/gghouse_20260217.sql"}, "dump_key", "does not match dump_date"),
    ({"dump_key": "dumps/other.sql"}, "dump_key", "not of the form"),
    ({"dump_sha256": "Z" * 64}, "dump_sha256", "64 lower-case hex"),
    ({"dump_sha256": "a" * 63}, "dump_sha256", "64 lower-case hex"),
    ({"valid_for_etl": "yes"}, "valid_for_etl", "expected true or false"),
    ({"source": {"host": "h", "database": "d"}}, "source.secret_id", "missing"),
    ({"table_row_counts": {"tenants": 1}}, "table_row_counts.movings", "missing"),
    ({"reason_codes": [""]}, "reason_codes[0]", "non-empty string"),
    ({"published_at": "yesterday"}, "published_at", "ISO-8601"),
])
def test_validation_names_field_and_problem(changes, field, fragment):
    with pytest.raises(m.ManifestError) as err:
        m.parse(doc(**changes), expected_date=DAY)
    assert err.value.field == field
    assert fragment in str(err.value)


def test_manifest_for_another_day_is_rejected():
    with pytest.raises(m.ManifestError, match="for 2026-02-19"):
        m.parse(doc(), expected_date=date(2026, 2, 19))


def test_not_json():
    with pytest.raises(m.ManifestError, match="not valid JSON"):
        m.parse(b"{truncated", expected_date=DAY)


def test_judge_loadable():
    verdict = m.judge(m.parse(doc()), EXPECTED, dump_size=947000000)
    assert verdict.status is m.Status.LOADABLE and verdict.reasons == ()


def test_judge_declared_invalid_keeps_publisher_reasons():
    verdict = m.judge(m.parse(doc(valid_for_etl=False, reason_codes=["MANUAL_QUARANTINE"])), EXPECTED, 947000000)
    assert verdict.status is m.Status.QUARANTINED
    assert verdict.reasons == ("MANUAL_QUARANTINE",)


@pytest.mark.parametrize("source, size, reasons", [
    ({"host": "other-host", "database": "gghouse", "secret_id": "x"}, 947000000, ("INVALID_SOURCE",)),
    ({"host": "db.example", "database": "gghouse_copy", "secret_id": "x"}, 947000000, ("INVALID_SOURCE",)),
    (GOOD["source"], None, ("MISSING_DUMP",)),
    (GOOD["source"], 100, ("TRUNCATED_DUMP",)),
    (GOOD["source"], 947000001, ("SIZE_MISMATCH",)),
    ({"host": "evil", "database": "gghouse", "secret_id": "x"}, 5, ("INVALID_SOURCE", "TRUNCATED_DUMP")),
])
def test_judge_quarantines(source, size, reasons):
    verdict = m.judge(m.parse(doc(source=source)), EXPECTED, size)
    assert verdict.status is m.Status.QUARANTINED
    assert verdict.reasons == reasons


def test_host_comparison_ignores_case_and_trailing_dot_but_not_database_case():
    assert m.judge(m.parse(doc(source={**GOOD["source"], "host": "DB.Example."})), EXPECTED, 947000000).loadable
    verdict = m.judge(m.parse(doc(source={**GOOD["source"], "database": "GGHOUSE"})), EXPECTED, 947000000)
    assert verdict.reasons == ("INVALID_SOURCE",)


def test_declared_invalid_without_codes_gets_one():
    verdict = m.judge(m.parse(doc(source_valid=False)), EXPECTED, 947000000)
    assert verdict.status is m.Status.QUARANTINED and verdict.reasons == ("DECLARED_INVALID",)
