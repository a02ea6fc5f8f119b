"""The freshness judgement (pure part of ops/freshness.py): ages, limits, missing data and the
alert text. The integration test runs the same rules against MariaDB, moto and Airflow."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ops import freshness, metrics
from tokyobeta.ops.freshness import Limits, Observation, TableState, UpstreamState

REPO = Path(__file__).resolve().parents[2]
TOKYO = freshness.TOKYO
AS_OF = datetime(2026, 6, 18, 9, 0, tzinfo=TOKYO)
LIMITS = Limits(staleness_days=2.0, upstream_max_age_hours=30.0, max_hours_since_success=30.0)


class _Manifest:
    def __init__(self, day: date):
        self.dump_date = day


def observation(day: date, *, tables: dict | None = None, manifest_day: date | None = None,
                last_success: datetime | None = None, skipped: tuple[str, ...] = ()) -> Observation:
    states = {c.name: TableState(True, day) for c in freshness.TABLE_CHECKS}
    states.update(tables or {})
    upstream = UpstreamState(_Manifest(manifest_day) if manifest_day else None, skipped)
    return Observation(AS_OF, states, upstream, last_success)


def by_subject(findings):
    return {f.subject: f for f in findings}


def test_a_day_loaded_at_02_00_is_fresh_at_09_00():
    obs = observation(date(2026, 6, 18), manifest_day=date(2026, 6, 18),
                      last_success=datetime(2026, 6, 18, 2, 0, tzinfo=TOKYO))
    findings = freshness.evaluate(obs, LIMITS)
    assert [f.subject for f in findings if f.breach] == []
    values = {f.datum.key: f.datum.value for f in findings}
    assert set(values) == freshness.metric_keys()
    assert values[(metrics.STALENESS_DAYS, (("Table", "gold.daily_activity_summary"),))] == 0.375
    assert values[(metrics.UPSTREAM_AGE_HOURS, ())] == 9.0
    assert values[(metrics.HOURS_SINCE_LAST_SUCCESS, ())] == 7.0
    assert freshness.alert_text(obs, findings) is None


def test_limits_are_exclusive_and_each_breach_is_listed():
    # 2 days exactly is within the limit; 2 days and 9 hours is not.
    obs = observation(date(2026, 6, 16), manifest_day=date(2026, 6, 16),
                      last_success=datetime(2026, 6, 17, 3, 0, tzinfo=TOKYO),
                      tables={"silver.tenant_room_snapshot_daily": TableState(True, date(2026, 6, 16)),
                              "gold.occupancy_daily_metrics": TableState(True, date(2026, 6, 17))})
    found = by_subject(freshness.evaluate(obs, LIMITS))
    assert found["gold.occupancy_daily_metrics"].datum.value == 1.375 and not found["gold.occupancy_daily_metrics"].breach
    assert found["staging.tenants"].datum.value == 2.375 and found["staging.tenants"].breach
    assert found["upstream"].datum.value == 57.0 and found["upstream"].breach
    assert found["daily DAG"].datum.value == 30.0 and not found["daily DAG"].breach
    subject, body = freshness.alert_text(obs, list(found.values()))
    assert subject == "STALE: 14 freshness breaches as of 2026-06-18 09:00 JST"
    breach_lines = body.split("Breaches:\n")[1].split("\n\nWithin limits:")[0].splitlines()
    assert len(breach_lines) == 14
    assert any(line.strip().startswith("upstream") and "57.00 hours (limit 30)" in line for line in breach_lines)


def test_what_cannot_be_measured_breaches_without_a_metric():
    obs = observation(date(2026, 6, 18), tables={
        "staging.rooms": TableState(False, None),
        "staging.tenants": TableState(True, None, datetime(2026, 6, 17, 23, 59)),
    }, skipped=("dumps-manifest/gghouse_20260618.json: valid_for_etl is false",))
    found = by_subject(freshness.evaluate(obs, LIMITS))
    for subject, why in [("staging.rooms", "table is empty"),
                         ("staging.tenants", "no successful load in ops.load_history; newest change 2026-06-17 23:59 JST"),
                         ("upstream", "no valid manifest in the last 45; newer manifests skipped: "
                                      "dumps-manifest/gghouse_20260618.json: valid_for_etl is false"),
                         ("daily DAG", "tokyobeta_daily_etl has no successful run")]:
        assert found[subject].breach and found[subject].datum is None
        assert found[subject].detail == why
    assert not found["gold.daily_activity_summary"].breach


def test_data_newer_than_the_check_counts_as_age_zero():
    obs = observation(date(2026, 6, 19), manifest_day=date(2026, 6, 19),
                      last_success=AS_OF + timedelta(days=1))
    assert {f.datum.value for f in freshness.evaluate(obs, LIMITS)} == {0.0}


def test_manifest_validity_excludes_only_inquiries():
    from tokyobeta.ingest.manifest import Manifest, Source

    stamp = datetime(2026, 6, 18, 1, 40)

    def manifest(**changes):
        values = dict(dump_date=date(2026, 6, 18), dump_key="dumps/gghouse_20260618.sql", dump_bytes=10,
                      dump_sha256="0" * 64, source=Source("h", "gghouse", "s"), source_valid=True,
                      valid_for_etl=True, reason_codes=(), table_row_counts={t: 5 for t in TABLE_NAMES},
                      dump_started_at=stamp, dump_finished_at=stamp, published_at=stamp)
        values.update(changes)
        return Manifest(**values)

    assert freshness.upstream_problem(manifest()) == ""
    assert freshness.upstream_problem(manifest(table_row_counts={**{t: 5 for t in TABLE_NAMES}, "inquiries": 0})) == ""
    assert freshness.upstream_problem(manifest(table_row_counts={**{t: 5 for t in TABLE_NAMES}, "rooms": 0})) == "no rows in rooms"
    assert freshness.upstream_problem(manifest(valid_for_etl=False)) == "valid_for_etl is false"
    assert freshness.upstream_problem(manifest(source_valid=False)) == "source_valid is false"


def test_every_table_of_the_warehouse_is_watched():
    """A new dbt model must get a freshness rule (and an alarm): this fails until it does."""
    dbt_models = {f"{layer}.{p.stem}" for layer in ("silver", "gold")
                  for p in (REPO / "include" / "dbt" / "models" / layer).glob("*.sql")}
    kpi_tables = {"gold.occupancy_daily_metrics"}
    staging = {f"staging.{t}" for t in TABLE_NAMES}
    assert {c.name for c in freshness.TABLE_CHECKS} == dbt_models | kpi_tables | staging
