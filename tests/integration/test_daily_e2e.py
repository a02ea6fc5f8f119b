"""The daily DAG end to end against MariaDB and moto: a day lands with the row counts its
source implies, rerunning the day changes no table, and the next day adds a snapshot."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from support.db import checksums, count
from tokyobeta.contract import TABLE_NAMES

pytestmark = pytest.mark.slow

DAY1 = date(2026, 3, 2)
DAY2 = DAY1 + timedelta(days=1)
LAYERS = ("staging", "silver", "gold")


def expected_from_source(conn, db: str, day: date) -> dict[str, int]:
    """What the layers must hold, computed from the source by independent SQL."""
    out = {t: count(conn, f"SELECT COUNT(*) FROM `{db}`.`{t}`") for t in TABLE_NAMES}
    out["tenant_rooms"] = count(conn, f"SELECT COUNT(*) FROM (SELECT DISTINCT m.tenant_id, m.room_id FROM `{db}`.movings m "
                                      f"JOIN `{db}`.tenants t ON t.id = m.tenant_id) pairs")
    out["registrations"] = count(conn, f"SELECT COUNT(*) FROM `{db}`.tenants WHERE DATE(created_at) = %s", (day,))
    return out


# A rerun is a new publication, so what names it changes and nothing else may: silver's and gold's
# `publication` marker, and the KPI rows' gold_publication_id (checked against the live one below)
LINEAGE_ONLY = {"publication"}
KPI_TABLE, KPI_LINEAGE_COLUMN = "occupancy_daily_metrics", "gold_publication_id"


def layer_checksums(pipeline) -> dict[str, dict[str, object]]:
    out = {layer: {t: c for t, c in checksums(pipeline.admin, pipeline.schemas[layer]).items() if t not in LINEAGE_ONLY}
           for layer in LAYERS}
    gold = pipeline.schemas["gold"]
    columns = [c for (c,) in pipeline_rows(pipeline.admin, "SELECT column_name FROM information_schema.columns "
                                           f"WHERE table_schema = '{gold}' AND table_name = '{KPI_TABLE}' "
                                           "ORDER BY ordinal_position") if c != KPI_LINEAGE_COLUMN]
    assert len(columns) > 5
    out["gold"][KPI_TABLE] = pipeline_rows(pipeline.admin, f"SELECT {', '.join(f'`{c}`' for c in columns)} "
                                           f"FROM `{gold}`.`{KPI_TABLE}` ORDER BY 1, 2")
    return out


@pytest.fixture(scope="module")
def first_day(pipeline):
    pipeline.build_source(DAY1)
    expected = expected_from_source(pipeline.admin, pipeline.source_db, DAY1)
    manifest = pipeline.publish(DAY1)
    state, tasks = pipeline.run(DAY1)
    return {"expected": expected, "manifest": manifest, "state": state, "tasks": tasks,
            "checksums": layer_checksums(pipeline), "alerts": pipeline.alerts()}


def test_first_day_succeeds_without_alerts(first_day):
    failed = {t: s for t, s in first_day["tasks"].items() if s != "success"}
    assert first_day["state"] == "success", failed
    assert len(first_day["tasks"]) > 10 and failed == {}
    assert first_day["alerts"] == []


def test_staging_holds_exactly_the_contract_tables_of_the_dump(pipeline, first_day):
    staging = pipeline.schemas["staging"]
    for table in TABLE_NAMES:
        rows = count(pipeline.admin, f"SELECT COUNT(*) FROM `{staging}`.`{table}`")
        assert rows == first_day["expected"][table] == first_day["manifest"].table_row_counts[table], table
    assert count(pipeline.admin, "SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = %s "
                                 "AND table_name IN ('payments', 'access_logs', 'tenants_archive')", (staging,)) == 0
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{staging}`.dump_info WHERE dump_date = %s "
                                 "AND dump_sha256 = %s", (DAY1, first_day["manifest"].dump_sha256)) == 1


def test_silver_and_gold_row_counts(pipeline, first_day):
    silver, gold = pipeline.schemas["silver"], pipeline.schemas["gold"]
    pairs = first_day["expected"]["tenant_rooms"]
    assert pairs > 100
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{silver}`.tokyo_beta_tenant_room_info") == pairs
    # the snapshot keeps the active tenant-rooms (not years of former tenants): at least every
    # stay that is live on the day, computed from the source independently
    active = count(pipeline.admin, f"SELECT COUNT(*) FROM `{silver}`.tokyo_beta_tenant_room_info WHERE is_active")
    live = count(pipeline.admin, f"SELECT COUNT(DISTINCT m.tenant_id, m.room_id) FROM `{pipeline.source_db}`.movings m "
                                 f"JOIN `{pipeline.source_db}`.tenants t ON t.id = m.tenant_id WHERE t.status IN (6, 7) "
                                 "AND m.cancel_flag = 0 AND m.move_in_date <= %s "
                                 "AND COALESCE(m.moveout_date, m.moveout_plans_date, '9999-12-31') > %s", (DAY1, DAY1))
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{silver}`.tenant_room_snapshot_daily "
                                 "WHERE snapshot_date = %s", (DAY1,)) == active
    assert pairs > active >= live > 100
    assert count(pipeline.admin, f"SELECT new_registrations FROM `{gold}`.daily_activity_summary "
                                 "WHERE activity_date = %s", (DAY1,)) == first_day["expected"]["registrations"]
    apartments = first_day["expected"]["apartments"]
    with_rooms = count(pipeline.admin, f"SELECT COUNT(DISTINCT apartment_id) FROM `{pipeline.source_db}`.rooms")
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{gold}`.occupancy_by_apartment") == with_rooms <= apartments
    # one snapshot: the as-of day itself plus KPI_FORWARD_DAYS of projection, no invented past days
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{gold}`.occupancy_daily_metrics") == 1 + pipeline.cfg.kpi_forward_days


def test_load_history_and_archive(pipeline, first_day):
    ops = pipeline.schemas["ops"]
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{ops}`.load_history WHERE dump_date = %s AND status = 'loaded' "
                                 "AND dump_sha256 = %s", (DAY1, first_day["manifest"].dump_sha256)) == 1
    key = f"{pipeline.cfg.archive_prefix}gghouse_{DAY1:%Y%m%d}.sql"
    tags = {t["Key"]: t["Value"] for t in pipeline.s3.get_object_tagging(Bucket=pipeline.bucket, Key=key)["TagSet"]}
    assert tags["processed"] == "true" and tags["sha256"] == first_day["manifest"].dump_sha256


def test_rerunning_the_same_day_changes_no_table(pipeline, first_day):
    state, _ = pipeline.run(DAY1)
    assert state == "success"
    assert layer_checksums(pipeline) == first_day["checksums"]
    gold = pipeline.schemas["gold"]
    assert pipeline_rows(pipeline.admin, f"SELECT DISTINCT k.{KPI_LINEAGE_COLUMN} = p.publication_id "
                                         f"FROM `{gold}`.`{KPI_TABLE}` k CROSS JOIN `{gold}`.publication p") == [(1,)]


def test_next_day_adds_a_snapshot_and_keeps_a_backup(pipeline, first_day):
    pipeline.build_source(DAY2)
    expected = expected_from_source(pipeline.admin, pipeline.source_db, DAY2)
    pipeline.publish(DAY2)
    state, tasks = pipeline.run(DAY2)
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    silver, gold = pipeline.schemas["silver"], pipeline.schemas["gold"]
    per_day = dict(pipeline_rows(pipeline.admin, f"SELECT snapshot_date, COUNT(*) FROM `{silver}`.tenant_room_snapshot_daily "
                                                 "GROUP BY snapshot_date"))
    active = count(pipeline.admin, f"SELECT COUNT(*) FROM `{silver}`.tokyo_beta_tenant_room_info WHERE is_active")
    assert per_day[DAY2] == active and set(per_day) == {DAY1, DAY2}
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{gold}`.daily_activity_summary") == 2
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{pipeline.schemas['staging']}`.tenants") == expected["tenants"]
    backup = pipeline.schemas["staging_backup"]
    assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{backup}`.`tenants__{DAY1:%Y%m%d}`") == first_day["expected"]["tenants"]


def pipeline_rows(conn, sql: str) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql)
        return list(cur.fetchall())
