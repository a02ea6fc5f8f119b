"""`dbt build` on the realistic sample source, two consecutive days: every dbt test passes, a
rerun changes no table, the KPI table and the reconciliation report agree, the projections
are consistent with themselves, and the docs build with a description for every column."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

pytestmark = pytest.mark.slow

DAY1, DAY2 = date(2026, 3, 2), date(2026, 3, 3)
LOOKBACK, FORWARD = 30, 60


@pytest.fixture(scope="module")
def built(warehouse):
    results = {}
    for day in (DAY1, DAY2):
        warehouse.load_sample(day)
        results[day] = warehouse.dbt("build")
    warehouse.kpi(LOOKBACK, FORWARD)
    return results


def test_every_dbt_test_passes(warehouse, built):
    for day, result in built.items():
        statuses = warehouse.statuses(result)
        tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
        assert len(tests) >= 80 and any(".source_" in k or "source_" in k for k in tests), day
        assert set(tests.values()) == {"pass"}, (day, {k: v for k, v in tests.items() if v != "pass"})
        models = {k: v for k, v in statuses.items() if k.startswith("model.")}
        assert len(models) == 8 and set(models.values()) == {"success"}, day


def test_the_second_day_is_incremental(warehouse, built):
    assert dict(warehouse.rows("SELECT snapshot_date, COUNT(*) > 300 FROM `{silver}`.tenant_room_snapshot_daily GROUP BY 1")) \
        == {DAY1: 1, DAY2: 1}
    assert [d for (d,) in warehouse.rows("SELECT activity_date FROM `{gold}`.daily_activity_summary ORDER BY 1")] == [DAY1, DAY2]
    assert warehouse.rows("SELECT COUNT(DISTINCT snapshot_date) FROM `{gold}`.occupancy_by_apartment") == [(2,)]


def test_rerunning_the_day_changes_no_table(warehouse, built):
    before = warehouse.checksums("silver", "gold")
    warehouse.load_sample(DAY2)
    warehouse.dbt("build")
    warehouse.kpi(LOOKBACK, FORWARD)
    assert warehouse.checksums("silver", "gold") == before


def test_kpi_table_and_month_report_agree(warehouse, built):
    from tokyobeta.io import mysql
    from tokyobeta.transform import kpi

    with mysql.connection(warehouse.cfg.mysql_conn_id) as conn:
        report = kpi.month_report(conn, warehouse.schemas, warehouse.cfg.include_path, DAY2)
    stored = {d: (i, o) for d, i, o in warehouse.rows(
        "SELECT metric_date, move_ins, move_outs FROM `{gold}`.occupancy_daily_metrics")}
    compared = 0
    for row in report["days"]:
        metric_date = date.fromisoformat(row["date"])
        if metric_date in stored:
            assert (row["move_ins"], row["move_outs"]) == stored[metric_date], row["date"]
            compared += 1
        else:
            assert row["kind"] == "no_snapshot", row
    assert compared == 30 and report["totals"]["move_ins"] > 0 and report["totals"]["move_outs"] > 0
    assert sum(r["move_ins"] for r in report["by_contract_type"]) == report["totals"]["move_ins"]


def test_projected_occupancy_follows_projected_moves(warehouse, built):
    rows = warehouse.rows("SELECT metric_date, move_ins, move_outs, occupied_rooms FROM `{gold}`.occupancy_daily_metrics "
                          "WHERE metric_date >= %s ORDER BY metric_date", (DAY2,))
    assert len(rows) == FORWARD + 1 and sum(r[1] for r in rows[1:]) > 0
    for (prev_day, _, _, prev_occupied), (metric_date, ins, outs, occupied) in zip(rows, rows[1:]):
        assert metric_date == prev_day + timedelta(days=1)
        assert occupied == prev_occupied + ins - outs, metric_date


def test_docs_describe_every_model_and_column(warehouse, built, tmp_path):
    from tokyobeta.transform import dbt_project

    index = dbt_project.generate_docs(warehouse.project_dir, warehouse.cfg.dbt_executable_path, target_path=tmp_path)
    assert index.stat().st_size > 100_000
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    catalog = json.loads((tmp_path / "catalog.json").read_text())
    models = {k: n for k, n in manifest["nodes"].items() if n["resource_type"] in ("model", "seed")}
    assert len(models) == 11
    undocumented = []
    for unique_id, node in models.items():
        if not node["description"].strip():
            undocumented.append(unique_id)
        actual_columns = catalog["nodes"][unique_id]["columns"]   # what the table really has
        documented = {name: c["description"] for name, c in node["columns"].items()}
        undocumented += [f"{unique_id}.{c}" for c in actual_columns if not documented.get(c, "").strip()]
    assert undocumented == []
