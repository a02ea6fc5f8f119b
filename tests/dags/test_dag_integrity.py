"""Every DAG in dags/ imports cleanly and follows the house rules: an owner, tags, retries,
a failure callback on every task and on the DAG, a schedule in Asia/Tokyo (or manual), docs,
and a heartbeat task in every scheduled DAG."""

from __future__ import annotations

from pathlib import Path

import pytest
from airflow.models import DagBag
from airflow.timetables.simple import NullTimetable
from airflow.timetables.trigger import CronTriggerTimetable

from tokyobeta.ops import metrics
from tokyobeta.ops.alerts import on_dag_failure, on_sla_miss, on_task_failure

DAGS_DIR = Path(__file__).resolve().parents[2] / "dags"
DAG_FILES = sorted(p for p in DAGS_DIR.glob("*.py") if not p.name.startswith("_"))


@pytest.fixture(scope="module")
def dagbag() -> DagBag:
    return DagBag(dag_folder=str(DAGS_DIR), include_examples=False)


def test_no_import_errors(dagbag):
    assert dagbag.import_errors == {}
    assert {dag.fileloc for dag in dagbag.dags.values()} == {str(p) for p in DAG_FILES}


def test_daily_dag_is_present(dagbag):
    assert "tokyobeta_daily_etl" in dagbag.dags


@pytest.mark.parametrize("dag_id", ["tokyobeta_daily_etl"])
def test_daily_chain_order(dagbag, dag_id):
    dag = dagbag.dags[dag_id]
    chain = ["wait_for_manifest", "check_manifest", "load_staging", "enrich"]
    for upstream, downstream in zip(chain, chain[1:]):
        assert downstream in dag.get_task(upstream).downstream_task_ids
    groups = {name: [t for t in dag.tasks if t.task_id.startswith(f"{name}.")] for name in ("dbt_silver", "dbt_gold")}
    assert groups["dbt_silver"] and groups["dbt_gold"], "cosmos rendered no dbt tasks"

    def entry_tasks(group: str) -> list:
        return [t for t in groups[group] if not any(u.startswith(f"{group}.") for u in t.upstream_task_ids)]

    assert all(t.upstream_task_ids == {"enrich"} for t in entry_tasks("dbt_silver"))
    silver_ids = {t.task_id for t in groups["dbt_silver"]}
    assert all(t.upstream_task_ids - {u for u in t.upstream_task_ids if u.startswith("dbt_gold.")} <= silver_ids
               and t.upstream_task_ids & silver_ids for t in entry_tasks("dbt_gold"))
    # write-audit-publish: every gold model before the audit, the audit before the publish, and
    # nothing that reads gold (the KPIs, the archive) before the publish
    gold_ids = {t.task_id for t in groups["dbt_gold"]}
    gold_leaves = {t.task_id for t in groups["dbt_gold"] if not t.downstream_task_ids & gold_ids}
    assert dag.get_task("audit_candidates").upstream_task_ids == gold_leaves
    assert dag.get_task("publish_silver_gold").upstream_task_ids == {"audit_candidates"}
    assert dag.get_task("upsert_kpis").upstream_task_ids == {"publish_silver_gold"}
    assert dag.get_task("archive_dump").upstream_task_ids == {"upsert_kpis"}


def test_house_rules(dagbag):
    for dag_id, dag in dagbag.dags.items():
        assert dag.tags, f"{dag_id} has no tags"
        assert dag.doc_md, f"{dag_id} has no doc_md"
        timetable = dag.timetable
        if isinstance(timetable, CronTriggerTimetable):
            assert str(timetable._timezone.name) == "Asia/Tokyo", f"{dag_id} is not scheduled in Asia/Tokyo"
        else:
            assert isinstance(timetable, NullTimetable), f"{dag_id}: unexpected timetable {timetable!r}"
        assert dag.timezone.name == "Asia/Tokyo"
        dag_callbacks = dag.on_failure_callback if isinstance(dag.on_failure_callback, list) else [dag.on_failure_callback]
        assert on_dag_failure in dag_callbacks, f"{dag_id} does not summarise a failed run"
        for task in dag.tasks:
            where = f"{dag_id}.{task.task_id}"
            assert task.owner == "tokyobeta-data", f"{where} owner {task.owner}"
            assert task.on_failure_callback, f"{where} has no on_failure_callback"
            callbacks = task.on_failure_callback if isinstance(task.on_failure_callback, list) else [task.on_failure_callback]
            assert on_task_failure in callbacks, f"{where} does not alert on failure"
            if task.task_type not in {"ManifestSensor"}:
                assert task.retries >= 1, f"{where} has no retries"
            assert task.execution_timeout is not None, f"{where} has no execution_timeout"


def test_daily_schedule(dagbag):
    dag = dagbag.dags["tokyobeta_daily_etl"]
    assert isinstance(dag.timetable, CronTriggerTimetable)
    assert dag.catchup is False
    assert dag.max_active_runs == 1


def test_scheduled_dags_start_with_a_heartbeat(dagbag):
    with_heartbeat = set()
    for dag_id, dag in dagbag.dags.items():
        if "heartbeat" in dag.task_ids:
            assert dag.get_task("heartbeat").upstream_task_ids == set(), f"{dag_id}: heartbeat must not wait"
            with_heartbeat.add(dag_id)
        else:
            assert isinstance(dag.timetable, NullTimetable), f"{dag_id} is scheduled but has no heartbeat"
    assert with_heartbeat == set(metrics.HEARTBEAT_DAGS)


def test_gold_sla_sits_on_the_task_that_publishes_gold(dagbag):
    from tokyobeta import settings
    from tokyobeta.ops import sla

    dag = dagbag.dags["tokyobeta_daily_etl"]
    assert dag.sla_miss_callback is on_sla_miss
    cfg = settings.from_env()
    with_sla = {t.task_id: t.sla for t in dag.tasks if t.sla}
    assert with_sla == {"upsert_kpis": sla.gold_sla(cfg.daily_schedule, cfg.sla_gold_deadline)}
    assert all(not t.email_on_failure or not t.email for t in dag.tasks), "failures alert through SNS, not e-mail"
    # The scheduler decides whether to ask for SLA checks from the serialized DAG.
    from airflow.serialization.serialized_objects import SerializedDAG

    serialized = SerializedDAG.from_dict(SerializedDAG.to_dict(dag))
    assert serialized.get_task("upsert_kpis").sla == with_sla["upsert_kpis"] and serialized.timetable.periodic


def test_monitoring_dags(dagbag):
    freshness = dagbag.dags["tokyobeta_freshness"]
    assert isinstance(freshness.timetable, CronTriggerTimetable) and freshness.timetable.summary == "0 9 * * *"
    assert freshness.catchup is False
    drill = dagbag.dags["tokyobeta_alert_drill"]
    assert isinstance(drill.timetable, NullTimetable)
    assert drill.task_ids == ["fail_on_purpose"] and drill.get_task("fail_on_purpose").retries == 1


def test_publish_dag(dagbag):
    dag = dagbag.dags["gghouse_dump_publish"]
    assert isinstance(dag.timetable, CronTriggerTimetable) and dag.timetable.summary == "0 1 * * *"
    assert dag.catchup is False and dag.max_active_runs == 1
    assert set(dag.task_ids) == {"heartbeat", "publish_dump"}
    assert set(dag.params) >= {"dump_date", "gzip", "replace"}
    # It must finish before the daily run gives up waiting for the manifest.
    assert dag.get_task("publish_dump").execution_timeout <= __import__("datetime").timedelta(hours=2)
