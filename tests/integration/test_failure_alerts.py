"""Failure alerts through the real path: DAG runs (dag.test) -> Airflow callbacks -> SNS on moto
-> an SQS queue subscribed to the topic. Exact messages and their count: one per task that
finally fails, one summary per failed run, none for a retry that succeeds."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tokyobeta.ops import rundag

pytestmark = pytest.mark.slow
JST = ZoneInfo("Asia/Tokyo")


def attributes(envelope: dict) -> dict[str, str]:
    return {k: v["Value"] for k, v in (envelope.get("MessageAttributes") or {}).items()}


def by_kind(messages: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for m in messages:
        out.setdefault(attributes(m)["kind"], []).append(m)
    return out


def fields(message: str) -> dict[str, str]:
    """The 'Name:   value' lines of an alert body."""
    out = {}
    for line in message.splitlines():
        name, sep, value = line.partition(":")
        if sep and name and not name.startswith(" ") and value.startswith(" "):
            out[name.strip()] = value.strip()
    return out


def now_utc() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def test_alert_drill_reaches_sns_once_per_task_and_once_per_run(inbox, monkeypatch):
    monkeypatch.setenv("AIRFLOW__WEBSERVER__BASE_URL", "http://airflow.test")
    logical = now_utc()
    state, tasks = rundag.run_dag("tokyobeta_alert_drill", logical, {"note": "ticket OPS-1"})
    assert (state, tasks) == ("failed", [("fail_on_purpose", "failed")])

    messages = by_kind(inbox.messages())
    assert sorted(messages) == ["dag_failure", "task_failure"]
    assert [len(v) for v in messages.values()] == [1, 1]
    run_id = f"manual__{logical.isoformat()}"

    task_alert = messages["task_failure"][0]
    assert task_alert["Subject"] == "[tokyobeta] FAILED tokyobeta_alert_drill.fail_on_purpose"
    assert attributes(task_alert) == {"severity": "ERROR", "dag_id": "tokyobeta_alert_drill",
                                      "kind": "task_failure", "task_id": "fail_on_purpose"}
    body = fields(task_alert["Message"])
    assert body["DAG"] == "tokyobeta_alert_drill" and body["Task"] == "fail_on_purpose"
    assert body["Run"] == run_id
    assert body["Logical date"] == f"{logical.isoformat()} ({logical.astimezone(JST):%Y-%m-%d %H:%M} JST)"
    assert body["Try"] == "2 of 2", "the alert must come after the retry, not before"
    assert body["Log"].startswith("http://airflow.test/") and "fail_on_purpose" in body["Log"]
    exception = task_alert["Message"].split("Exception:\n", 1)[1]
    assert exception.startswith(f"tokyobeta.monitoring.AlertDrillFailure: ALERT DRILL {run_id}: "
                                "this failure is intentional (ticket OPS-1).")

    run_alert = messages["dag_failure"][0]
    assert run_alert["Subject"] == f"[tokyobeta] RUN FAILED tokyobeta_alert_drill {run_id}: fail_on_purpose"
    assert attributes(run_alert)["kind"] == "dag_failure" and attributes(run_alert)["severity"] == "ERROR"
    summary = run_alert["Message"]
    assert fields(summary)["Run"] == run_id and fields(summary)["Reason"] == "task_failure"
    assert "Failed tasks (1); each also sent its own alert:\n  fail_on_purpose (try 2) http://airflow.test/" in summary
    assert summary.rstrip().endswith("Succeeded: 0 of 1 tasks.")


@pytest.mark.parametrize("failures, expected_state, expected_kinds", [
    (1, "success", []),                                  # a retry that succeeds: silence
    (2, "failed", ["dag_failure", "task_failure"]),      # control: same DAG, no retry left: loud
])
def test_a_retry_that_succeeds_sends_nothing(inbox, monkeypatch, failures, expected_state, expected_kinds):
    from airflow import DAG
    from airflow.operators.python import PythonOperator

    from tokyobeta import dagkit, settings
    from tokyobeta.ops import alerts

    def flaky(**context):
        if context["ti"].try_number <= failures:
            raise RuntimeError(f"transient failure on try {context['ti'].try_number}")

    cfg = settings.Settings()
    with DAG(f"tokyobeta_test_flaky_{failures}", schedule=None, start_date=dagkit.START_DATE,
             default_args=dagkit.default_args(cfg, retries=1, retry_delay=timedelta(0)),
             on_failure_callback=alerts.on_dag_failure) as dag:
        PythonOperator(task_id="flaky", python_callable=flaky)
    run = dag.test(execution_date=now_utc())
    (ti,) = run.get_task_instances()
    assert (str(run.state), ti.try_number) == (expected_state, 2)
    messages = inbox.messages()
    assert sorted(attributes(m)["kind"] for m in messages) == expected_kinds
    if messages:
        task_alert = by_kind(messages)["task_failure"][0]
        assert fields(task_alert["Message"])["Try"] == "2 of 2"
        assert "RuntimeError: transient failure on try 2" in task_alert["Message"]


def test_daily_run_without_manifest_alerts_the_sensor_and_summarises_the_run(inbox, bucket, monkeypatch):
    """The daily DAG's own wiring: the sensor gives up, the rest never runs, two messages."""
    monkeypatch.setenv("MANIFEST_WAIT_HOURS", "0.0005")  # 1.8 s
    monkeypatch.setenv("MANIFEST_POKE_SECONDS", "1")
    monkeypatch.setenv("TASK_RETRIES", "0")
    day = date(2026, 7, 1)
    state, tasks = rundag.run_day("tokyobeta_daily_etl", day)
    states = dict(tasks)
    assert state == "failed"
    assert (states["wait_for_manifest"], states["heartbeat"], states["check_manifest"]) == \
        ("failed", "success", "upstream_failed")

    messages = by_kind(inbox.messages())
    assert sorted((k, len(v)) for k, v in messages.items()) == [("dag_failure", 1), ("task_failure", 1)]
    task_alert = messages["task_failure"][0]
    assert task_alert["Subject"] == "[tokyobeta] FAILED tokyobeta_daily_etl.wait_for_manifest"
    assert fields(task_alert["Message"])["Try"] == "1 of 1"
    assert f"s3://{bucket}/dumps-manifest/gghouse_20260701.json" in task_alert["Message"].split("Exception:", 1)[1]
    summary = messages["dag_failure"][0]["Message"]
    blocked = summary.split("Did not run or did not finish (", 1)[1]
    assert blocked.startswith(f"{len(tasks) - 2}):\n") and "  check_manifest: upstream_failed" in blocked
    assert summary.rstrip().endswith(f"Succeeded: 1 of {len(tasks)} tasks.")
