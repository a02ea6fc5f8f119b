"""Lineage of real days (dag.test, MariaDB, moto with a versioned bucket): a loaded day's chain
names the dump's key and S3 version, the verdict, the load, the silver and gold publications,
the KPI upsert and the archive with their run ids; occupancy_daily_metrics names its snapshot
and publication; the run note and OpenLineage events carry the same chain; a quarantined day's
chain stops at the verdict with the reason. The publications are the ones the run's own
write-audit-publish step wrote."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, timedelta

import pytest

from support.db import count
from tokyobeta.ops import lineage
from tokyobeta.ops.history import History
from tokyobeta.ops.rundag import logical_date_for

pytestmark = pytest.mark.slow

DAY = date(2026, 5, 11)
QUARANTINED_DAY = DAY + timedelta(days=1)
DAG_ID = "tokyobeta_daily_etl"


def rows(conn, sql: str, args=None) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return list(cur.fetchall())


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokyobeta.cli", *args], capture_output=True, text=True)


def published(pipeline, day: date) -> dict[str, int]:
    """The publication per layer the daily run's publish step wrote for the day."""
    return dict(rows(pipeline.admin, f"SELECT layer, id FROM `{pipeline.schemas['ops']}`.publications "
                                     "WHERE dump_date = %s AND status = 'published'", (day,)))


def dag_run(day: date):
    from airflow.models import DagRun
    from airflow.utils.session import create_session

    from tokyobeta import settings

    logical = logical_date_for(day, settings.from_env().daily_schedule)
    with create_session() as session:
        run = session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.execution_date == logical).one()
        return run.run_id, run.note


@pytest.fixture(scope="module")
def loaded_day(pipeline, tmp_path_factory):
    events = tmp_path_factory.mktemp("openlineage") / "events.jsonl"
    mp = pytest.MonkeyPatch()
    for key, value in {"OPENLINEAGE_EVENTS": "true", "OPENLINEAGE__TRANSPORT__TYPE": "file",
                       "OPENLINEAGE__TRANSPORT__LOG_FILE_PATH": str(events),
                       "OPENLINEAGE__TRANSPORT__APPEND": "true"}.items():
        mp.setenv(key, value)
    try:
        pipeline.build_source(DAY, scale=0.02)
        manifest = pipeline.publish(DAY)
        state, tasks = pipeline.run(DAY)
    finally:
        mp.undo()
    run_id, note = dag_run(DAY)
    ids = published(pipeline, DAY)
    assert set(ids) == {"silver", "gold"}, ids
    return {"state": state, "tasks": tasks, "manifest": manifest, "ids": ids, "run_id": run_id, "note": note,
            "events": events}


def test_the_day_runs_and_the_load_records_the_dump_version(pipeline, loaded_day):
    assert loaded_day["state"] == "success", {t: s for t, s in loaded_day["tasks"].items() if s != "success"}
    version = pipeline.s3.head_object(Bucket=pipeline.bucket, Key=loaded_day["manifest"].dump_key)["VersionId"]
    assert version and version != "null"
    assert rows(pipeline.admin, f"SELECT dump_version_id, run_id FROM `{pipeline.schemas['ops']}`.load_history "
                                "WHERE dump_date = %s AND status = 'loaded'", (DAY,)) == [(version, loaded_day["run_id"])]


def test_the_chain_names_keys_versions_and_run_ids(pipeline, loaded_day):
    proc = cli("lineage", "--date", DAY.isoformat(), "--json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(proc.stdout)
    links = {link["step"]: link for link in doc["links"]}
    assert list(links) == list(lineage.STEPS) and doc["complete"] is True
    manifest, run_id, s3 = loaded_day["manifest"], loaded_day["run_id"], pipeline.s3
    dump_version = s3.head_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["VersionId"]
    assert links["dump"]["facts"] == {"bucket": pipeline.bucket, "key": manifest.dump_key, "version_id": dump_version,
                                           "sha256": manifest.dump_sha256, "bytes": manifest.dump_bytes}
    assert links["manifest"]["facts"]["verdict"] == "LOADABLE" and links["manifest"]["facts"]["run_id"] == run_id
    assert links["manifest"]["facts"]["key"] == pipeline.cfg.manifest_key(DAY)
    [(load_id,)] = rows(pipeline.admin, f"SELECT id FROM `{pipeline.schemas['ops']}`.load_history WHERE dump_date = %s", (DAY,))
    assert links["load"]["facts"]["load_history_id"] == load_id and links["load"]["facts"]["run_id"] == run_id
    assert links["load"]["facts"]["rows"] == manifest.table_row_counts
    for layer in ("silver", "gold"):
        facts = links[layer]["facts"]
        assert (facts["publication_id"], facts["status"], facts["load_history_id"], facts["run_id"]) == \
            (loaded_day["ids"][layer], "published", load_id, run_id)
        assert facts["dump_version_id"] == dump_version and facts["live_publication_id"] == loaded_day["ids"][layer]
    kpi = links["kpi"]["facts"]
    assert (kpi["run_id"], kpi["as_of_snapshot_date"], kpi["gold_publication_id"]) == (run_id, DAY.isoformat(),
                                                                                      loaded_day["ids"]["gold"])
    archive_key = f"{pipeline.cfg.archive_prefix}gghouse_{DAY:%Y%m%d}.sql"
    archive_version = s3.head_object(Bucket=pipeline.bucket, Key=archive_key)["VersionId"]
    assert (links["archive"]["facts"]["key"], links["archive"]["facts"]["version_id"], links["archive"]["facts"]["run_id"]) \
        == (archive_key, archive_version, run_id)
    text = cli("lineage", "--date", DAY.isoformat())
    assert text.returncode == 0 and f"s3://{pipeline.bucket}/{manifest.dump_key} version {dump_version}" in text.stdout


def test_every_kpi_row_names_its_snapshot_and_publication(pipeline, loaded_day):
    gold = pipeline.schemas["gold"]
    assert rows(pipeline.admin, f"SELECT as_of_snapshot_date, gold_publication_id, COUNT(*) FROM `{gold}`.occupancy_daily_metrics "
                                "GROUP BY as_of_snapshot_date, gold_publication_id") == \
        [(DAY, loaded_day["ids"]["gold"], 1 + pipeline.cfg.kpi_forward_days)]
    proc = cli("lineage", "--date", DAY.isoformat(), "--table", "gold.occupancy_daily_metrics", "--json")
    detail = json.loads(proc.stdout)["table_detail"]
    assert proc.returncode == 0 and detail["rows_of_day"] == 1 and detail["publication"] == loaded_day["ids"]["gold"]
    assert detail["kpi_rows"] == [{"metric_date": DAY.isoformat(), "as_of_snapshot_date": DAY.isoformat(),
                                   "is_projection": 0, "gold_publication_id": loaded_day["ids"]["gold"]}]


def test_a_gold_row_joins_its_publication_on_its_day(pipeline, loaded_day):
    gold, ops = pipeline.schemas["gold"], pipeline.schemas["ops"]
    join = (f"SELECT p.id, COUNT(*) FROM `{gold}`.daily_activity_summary g JOIN `{ops}`.current_publications p "
            "ON p.layer = 'gold' AND p.dump_date = g.activity_date GROUP BY p.id")
    assert rows(pipeline.admin, join) == [(loaded_day["ids"]["gold"], 1)]
    proc = cli("lineage", "--date", DAY.isoformat(), "--table", "gold.daily_activity_summary", "--json")
    detail = json.loads(proc.stdout)["table_detail"]
    assert (detail["rows_of_day"], detail["publication"], detail["model"]["model"]) == (1, loaded_day["ids"]["gold"],
                                                                                          "daily_activity_summary")
    # a rerun of the day publishes again: the view moves to the newer publication, still one per day
    with pipeline.admin.cursor() as cur:
        cur.execute(f"INSERT INTO `{ops}`.publications (layer, dump_date, status, started_at, published_at) "
                    "VALUES ('gold', %s, 'published', %s, %s)", (DAY, datetime(2030, 1, 1), datetime(2030, 1, 1, 0, 5)))
        newer = cur.lastrowid
    try:
        assert rows(pipeline.admin, join) == [(newer, 1)]
        assert count(pipeline.admin, f"SELECT COUNT(*) FROM `{ops}`.current_publications WHERE dump_date = %s", (DAY,)) == 2
    finally:
        with pipeline.admin.cursor() as cur:
            cur.execute(f"DELETE FROM `{ops}`.publications WHERE id = %s", (newer,))


def test_the_run_note_ends_with_the_chain(loaded_day):
    note = loaded_day["note"]
    assert note is not None and f"Lineage of {DAY}" in note and len(note) <= 1000
    assert loaded_day["manifest"].dump_key in note and "archive: dumps-archive/" in note
    assert f"gold #{loaded_day['ids']['gold']}" in note   # the KPI line names the gold it read


def test_openlineage_events_carry_the_chain(pipeline, loaded_day):
    events = [json.loads(line) for line in loaded_day["events"].read_text().splitlines() if line.strip()]
    ours = [e for e in events if e["job"]["namespace"] == lineage.JOB_NAMESPACE]
    # one event per link of the chain, the publications included: they precede the archive
    assert [e["job"]["name"] for e in ours] == [f"{DAG_ID}.{s}" for s in lineage.STEPS]
    assert all(e["eventType"] == "COMPLETE" for e in ours)
    dump = ours[0]["outputs"][0]
    assert (dump["namespace"], dump["name"]) == (f"s3://{pipeline.bucket}", loaded_day["manifest"].dump_key)
    assert ours[2]["inputs"][0]["name"] == loaded_day["manifest"].dump_key
    assert ours[-1]["outputs"][0]["name"].startswith("dumps-archive/")


def test_a_quarantined_day_stops_at_its_verdict(pipeline, loaded_day):
    pipeline.build_source(QUARANTINED_DAY, scale=0.02)
    manifest = pipeline.publish(QUARANTINED_DAY)
    body = pipeline.s3.get_object(Bucket=pipeline.bucket, Key=manifest.dump_key)["Body"].read()
    pipeline.s3.put_object(Bucket=pipeline.bucket, Key=manifest.dump_key, Body=body[: len(body) // 2])
    state, _ = pipeline.run(QUARANTINED_DAY)
    assert state == "success"
    pipeline.alerts()
    proc = cli("lineage", "--date", QUARANTINED_DAY.isoformat(), "--json")
    assert proc.returncode == 1, proc.stderr
    links = {link["step"]: link for link in json.loads(proc.stdout)["links"]}
    assert links["manifest"]["status"] == "quarantined" and "TRUNCATED_DUMP" in links["manifest"]["facts"]["reasons"]
    assert links["load"]["status"] == "missing" and "quarantined" in links["load"]["reason"]
    assert {links[s]["status"] for s in ("silver", "gold", "kpi", "archive")} == {"missing"}
    assert links["kpi"]["reason"].startswith("not run: not loaded: the day was quarantined")
    # the live gold still holds the loaded day's publication
    assert links["gold"]["facts"]["live_publication_id"] == loaded_day["ids"]["gold"]


def test_bad_input_is_named(loaded_day):
    bad_date = cli("lineage", "--date", "2026-02-30")
    assert bad_date.returncode == 2 and "--date '2026-02-30' is not a date" in bad_date.stderr
    bad_table = cli("lineage", "--date", DAY.isoformat(), "--table", "gold.nope")
    assert bad_table.returncode == 2 and "'gold.nope' is not a gold table" in bad_table.stderr


def test_existing_tables_get_the_new_columns_once(pipeline):
    from tokyobeta.ops.history import add_column_if_missing

    schemas = {**pipeline.schemas, "ops": pipeline.cfg.schema("ops_migration")}
    with pipeline.admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{schemas['ops']}`")
        cur.execute(f"CREATE DATABASE `{schemas['ops']}`")
    try:
        history = History(pipeline.admin, schemas, pipeline.cfg.include_path)
        history.ensure_tables()
        with pipeline.admin.cursor() as cur:   # a load_history as it shipped before the column
            cur.execute(f"ALTER TABLE `{schemas['ops']}`.load_history DROP COLUMN dump_version_id")
        history.ensure_tables()
        history.ensure_tables()
        assert count(pipeline.admin, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = %s "
                                     "AND table_name = 'load_history' AND column_name = 'dump_version_id'",
                     (schemas["ops"],)) == 1
        assert add_column_if_missing(pipeline.admin, schemas["ops"], "load_history", "dump_version_id", "TEXT") is False
    finally:
        with pipeline.admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{schemas['ops']}`")
