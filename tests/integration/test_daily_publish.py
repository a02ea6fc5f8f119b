"""Write-audit-publish through the daily DAG (dag.test, MariaDB, moto): a day whose source breaks
a gold test is held (one alert naming the test, the model and ids; the task note says what to
clear; upsert_kpis and archive_dump do not run; every live silver and gold table byte for byte as
before; the candidate inspectable), the next good day publishes, and a KPI breach is held too."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from support.db import checksums, count
from tokyobeta.ops.rundag import logical_date_for

pytestmark = pytest.mark.slow

DAY1 = date(2026, 4, 6)
DAY2 = DAY1 + timedelta(days=1)
DAY3 = DAY2 + timedelta(days=1)
DAG_ID = "tokyobeta_daily_etl"
NOT_RUN = {"upstream_failed"}


def live(pipeline) -> dict[str, dict[str, int]]:
    return {layer: checksums(pipeline.admin, pipeline.schemas[layer]) for layer in ("silver", "gold")}


def kind(message: dict) -> str:
    return message["MessageAttributes"]["kind"]["Value"]


def misfile_rooms(pipeline) -> int:
    """In the source, every room but one of the apartment with the most residents filed under
    another apartment (their movings still name the first): that apartment then shows more
    occupied rooms than it has, which gold's test occupied_rooms <= total_rooms refuses."""
    db = pipeline.source_db
    with pipeline.admin.cursor() as cur:
        cur.execute(f"SELECT m.apartment_id FROM `{db}`.movings m JOIN `{db}`.tenants t ON t.id = m.tenant_id "
                    "WHERE t.status IN (6, 7) AND m.cancel_flag = 0 GROUP BY m.apartment_id "
                    "ORDER BY COUNT(DISTINCT m.room_id) DESC, m.apartment_id LIMIT 1")
        (apartment,) = cur.fetchone()
        cur.execute(f"SELECT MIN(id) FROM `{db}`.apartments WHERE id <> %s", (apartment,))
        (other,) = cur.fetchone()
        cur.execute(f"SELECT MIN(id) FROM `{db}`.rooms WHERE apartment_id = %s", (apartment,))
        (kept,) = cur.fetchone()
        cur.execute(f"UPDATE `{db}`.rooms SET apartment_id = %s WHERE apartment_id = %s AND id <> %s",
                    (other, apartment, kept))
    pipeline.admin.commit()
    return apartment


def task_note(day: date, task_id: str) -> str | None:
    from airflow.models import DagRun, TaskInstance
    from airflow.utils.session import create_session

    from tokyobeta import settings

    logical = logical_date_for(day, settings.from_env().daily_schedule)
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.execution_date == logical).one()
        return session.query(TaskInstance).filter_by(dag_id=DAG_ID, run_id=run.run_id, task_id=task_id).one().note


@pytest.fixture(scope="module")
def runs(pipeline):
    out = {}
    pipeline.build_source(DAY1)
    pipeline.publish(DAY1)
    out["day1"] = pipeline.run(DAY1)
    out["day1_alerts"] = pipeline.alerts()
    out["after_day1"] = live(pipeline)

    pipeline.build_source(DAY2)
    out["apartment"] = misfile_rooms(pipeline)
    pipeline.publish(DAY2)
    out["held"] = pipeline.run(DAY2)
    out["held_alerts"] = pipeline.alerts(wait_seconds=2)
    out["after_held"] = live(pipeline)
    out["held_note"] = task_note(DAY2, "audit_candidates")
    # the rerun of the same run (dag.test reuses its run id) turns these rows published
    out["held_rows"] = rows(pipeline, "SELECT layer, status, audit FROM `{ops}`.publications WHERE dump_date = %s "
                                      "AND status = 'held'", DAY2)
    out["held_candidate"] = rows(pipeline, "SELECT occupied_rooms, total_rooms FROM `{gold_candidate}`.occupancy_by_apartment "
                                           "WHERE snapshot_date = %s AND apartment_id = %s", DAY2, out["apartment"])

    # the publisher sends a corrected dump of the day; the day is run again
    pipeline.build_source(DAY2)
    pipeline.publish(DAY2)
    out["fixed"] = pipeline.run(DAY2)
    out["fixed_alerts"] = pipeline.alerts()
    out["after_fixed"] = live(pipeline)

    pipeline.build_source(DAY3)
    pipeline.publish(DAY3)
    with pytest.MonkeyPatch.context() as mp:
        # below any day's count (the DAG param's form stops at 0)
        mp.setenv("KPI_MAX_DAILY_MOVE_INS", "-1")
        out["kpi_held"] = pipeline.run(DAY3)
    out["kpi_alerts"] = pipeline.alerts(wait_seconds=2)
    out["after_kpi_held"] = live(pipeline)
    return out


def test_the_first_day_is_published(runs, pipeline):
    state, tasks = runs["day1"]
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    assert runs["day1_alerts"] == []
    assert {r[0]: r[1] for r in rows(pipeline, "SELECT layer, status FROM `{ops}`.publications WHERE dump_date = %s",
                                      DAY1)} == {"silver": "published", "gold": "published"}


def test_a_held_day_fails_before_publishing_and_the_kpis_and_archive_do_not_run(runs):
    state, tasks = runs["held"]
    assert state == "failed"
    assert tasks["audit_candidates"] == "failed"
    assert all(s == "success" for t, s in tasks.items() if t.startswith(("dbt_silver.", "dbt_gold.")))
    assert {t: tasks[t] for t in ("publish_silver_gold", "upsert_kpis", "archive_dump")} == \
        {t: "upstream_failed" for t in ("publish_silver_gold", "upsert_kpis", "archive_dump")}


def test_a_held_day_leaves_every_live_table_byte_for_byte(runs):
    assert runs["after_held"] == runs["after_day1"]


def test_a_held_day_sends_one_alert_naming_the_test_the_model_and_ids(runs):
    alerts = runs["held_alerts"]
    assert [kind(m) for m in alerts] == ["publication_held"], [m["Subject"] for m in alerts]
    message = alerts[0]["Message"]
    assert "expression_is_true_occupancy_by_apartment" in alerts[0]["Subject"] + message
    assert "on gold.occupancy_by_apartment" in message
    assert f"apartment_id={runs['apartment']}" in message and f"snapshot_date={DAY2}" in message
    assert "clear dbt_silver with Downstream" in message
    assert "full_name" not in message and "Tenant " not in message


def test_the_note_says_what_failed_and_what_to_clear(runs):
    note = runs["held_note"]
    assert note and "expression_is_true_occupancy_by_apartment" in note
    assert "clear dbt_silver with Downstream" in note


def test_the_held_candidate_is_inspectable(runs, pipeline):
    (occupied, total), = runs["held_candidate"]
    assert occupied > total == 1
    statuses = runs["held_rows"]
    assert {r[0] for r in statuses} == {"silver", "gold"}
    assert all("expression_is_true_occupancy_by_apartment" in r[2] for r in statuses)


def test_the_fixed_day_is_published(runs, pipeline):
    state, tasks = runs["fixed"]
    assert state == "success", {t: s for t, s in tasks.items() if s != "success"}
    assert runs["fixed_alerts"] == []
    assert runs["after_fixed"]["gold"] != runs["after_day1"]["gold"]
    gold = pipeline.schemas["gold"]
    assert count(pipeline.admin, f"SELECT COUNT(DISTINCT snapshot_date) FROM `{gold}`.occupancy_by_apartment") == 2
    published = rows(pipeline, "SELECT layer, id, load_history_id, dump_sha256, manifest_key, models "
                               "FROM `{ops}`.publications WHERE dump_date = %s AND status = 'published'", DAY2)
    assert {r[0] for r in published} == {"silver", "gold"}
    gold_row = next(r for r in published if r[0] == "gold")
    assert gold_row[2] is not None and len(gold_row[3]) == 64 and gold_row[4].endswith(f"{DAY2:%Y%m%d}.json")
    assert '"model": "occupancy_by_apartment"' in gold_row[5]
    assert rows(pipeline, "SELECT publication_id FROM `{gold}`.publication") == [(gold_row[1],)]


def test_a_kpi_breach_is_held_with_one_alert(runs):
    state, tasks = runs["kpi_held"]
    assert state == "failed" and tasks["audit_candidates"] == "failed" and tasks["upsert_kpis"] in NOT_RUN
    assert [kind(m) for m in runs["kpi_alerts"]] == ["publication_held"]
    assert "kpi:daily_move_ins_ceiling" in runs["kpi_alerts"][0]["Message"]
    assert runs["after_kpi_held"] == runs["after_fixed"]


def rows(pipeline, sql: str, *args) -> list[tuple]:
    with pipeline.admin.cursor() as cur:
        cur.execute(sql.format(**pipeline.schemas), args or None)
        return [tuple(r) for r in cur.fetchall()]
