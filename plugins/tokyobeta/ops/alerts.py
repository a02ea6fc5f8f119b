"""Alerts go to one SNS topic, with message attributes subscribers filter on: severity
(ERROR, WARNING), dag_id and kind (task_failure, dag_failure, sla_miss, freshness,
archive_warning, notice).

A missing topic is a configuration error raised loudly: the legacy alarm sat silent for weeks.
Who sends what, once:
  on_task_failure  task on_failure_callback: Airflow calls it only when no retry is left, so a
                   retry that later succeeds sends nothing;
  on_dag_failure   DAG on_failure_callback: one summary per failed run;
  on_sla_miss      DAG sla_miss_callback of tokyobeta_daily_etl (see ops/sla.py);
  notify           a notice from inside a task (quarantined day, archive warning, freshness,
                   a held publication).
A task that sends its failure's alert itself (audit_candidates holding a day) raises an
exception with `already_alerted = True` and calls mark_alerted: on_task_failure and
on_dag_failure then send nothing, so the held day is ONE alert.
"""

from __future__ import annotations

import logging
import traceback
from datetime import datetime
from typing import Any, Iterable, Mapping, Sequence
from urllib.parse import quote
from zoneinfo import ZoneInfo

log = logging.getLogger(__name__)

SUBJECT_MAX = 100  # SNS rejects longer subjects
TOKYO = ZoneInfo("Asia/Tokyo")


class AlertConfigError(RuntimeError):
    pass


def publish(sns: Any, topic_arn: str, subject: str, message: str, *, severity: str,
            dag_id: str = "", kind: str = "notice", extra_attributes: Mapping[str, str] | None = None) -> str:
    if not topic_arn:
        raise AlertConfigError("ALERT_TOPIC_ARN is empty: set the Airflow Variable or environment variable "
                               "ALERT_TOPIC_ARN to the SNS topic alerts must reach")
    attributes = {"severity": severity, "dag_id": dag_id or "-", "kind": kind, **(extra_attributes or {})}
    response = sns.publish(
        TopicArn=topic_arn,
        Subject=_subject(subject),
        Message=message,
        MessageAttributes={k: {"DataType": "String", "StringValue": str(v)} for k, v in attributes.items()},
    )
    log.info("alert published to %s (severity=%s, message id %s): %s",
             topic_arn, severity, response.get("MessageId"), subject)
    return response["MessageId"]


def _subject(text: str) -> str:
    # SNS subjects: ASCII printable, no newlines, at most 100 characters.
    clean = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in text.replace("\n", " "))
    return clean[: SUBJECT_MAX - 3] + "..." if len(clean) > SUBJECT_MAX else clean


def exception_head(exc: BaseException | None, lines: int = 8) -> str:
    if exc is None:
        return "(no exception recorded)"
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return "\n".join(text.splitlines()[:lines])


def when(value: Any) -> str:
    """A logical date as ISO-8601 and in JST (the dump day people think in)."""
    if not isinstance(value, datetime):
        return str(value)
    return f"{value.isoformat()} ({value.astimezone(TOKYO):%Y-%m-%d %H:%M} JST)"


def _webserver_url() -> str:
    from airflow.configuration import conf

    return conf.get("webserver", "base_url", fallback="").rstrip("/")


def run_url(dag_id: str, run_id: str) -> str:
    return f"{_webserver_url()}/dags/{quote(dag_id)}/grid?dag_run_id={quote(run_id, safe='')}"


def task_failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    ti = context["task_instance"]
    dag_run = context.get("dag_run")
    subject = f"[tokyobeta] FAILED {ti.dag_id}.{ti.task_id}"
    body = "\n".join([
        f"DAG:          {ti.dag_id}",
        f"Task:         {ti.task_id}",
        f"Run:          {dag_run.run_id if dag_run else ti.run_id}",
        f"Logical date: {when(context.get('logical_date'))}",
        f"Try:          {ti.try_number} of {ti.max_tries + 1}",
        f"Log:          {ti.log_url}",
        "",
        "Exception:",
        exception_head(context.get("exception")),
    ])
    return subject, body


def _sns_and_settings() -> tuple[Any, Any]:
    from tokyobeta import settings
    from tokyobeta.io import aws

    cfg = settings.Settings(use_variables=True)
    return aws.sns(cfg.aws_conn_id), cfg


ALERTED_XCOM = "alert_sent"


def mark_alerted(context: Mapping[str, Any]) -> None:
    """Records on the task instance that its failure's alert has been sent (see the docstring)."""
    context["ti"].xcom_push(key=ALERTED_XCOM, value=True)


def _already_alerted(ti: Any) -> bool:
    from airflow.models import XCom

    return bool(XCom.get_one(key=ALERTED_XCOM, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id,
                             map_index=ti.map_index))


def on_task_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: fires only when a task has failed for good (no retry left)."""
    from tokyobeta import settings
    from tokyobeta.io import aws

    if getattr(context.get("exception"), "already_alerted", False):
        log.info("the task sent its own alert for this failure; no second one")
        return

    cfg = settings.for_task(context)
    subject, body = task_failure_message(context)
    ti = context["task_instance"]
    publish(aws.sns(cfg.aws_conn_id), cfg.alert_topic_arn, subject, body,
            severity="ERROR", dag_id=ti.dag_id, kind="task_failure", extra_attributes={"task_id": ti.task_id})


_UNSUCCESSFUL_SHOWN = 12


def dag_failure_message(dag_id: str, run_id: str, logical_date: Any, reason: str | None,
                        task_states: Sequence[tuple[str, str, int, str]]) -> tuple[str, str]:
    """One summary of a failed run. task_states: (task_id, state, try_number, log_url)."""
    failed = [t for t in task_states if t[1] == "failed"]
    blocked = [t for t in task_states if t[1] not in {"success", "failed"}]
    succeeded = sum(1 for t in task_states if t[1] == "success")
    lines = [
        f"DAG:          {dag_id}",
        f"Run:          {run_id}",
        f"Logical date: {when(logical_date)}",
        f"Reason:       {reason or 'failed'}",
        f"Grid:         {run_url(dag_id, run_id)}",
        "",
        f"Failed tasks ({len(failed)}); each also sent its own alert:",
        *(f"  {task_id} (try {tries}) {log_url}" for task_id, _, tries, log_url in failed),
        f"Did not run or did not finish ({len(blocked)}):",
        *(f"  {task_id}: {state}" for task_id, state, _, _ in blocked[:_UNSUCCESSFUL_SHOWN]),
        *([f"  ... and {len(blocked) - _UNSUCCESSFUL_SHOWN} more"] if len(blocked) > _UNSUCCESSFUL_SHOWN else []),
        f"Succeeded: {succeeded} of {len(task_states)} tasks.",
    ]
    names = ", ".join(t[0] for t in failed[:2]) + (" ..." if len(failed) > 2 else "")
    subject = f"[tokyobeta] RUN FAILED {dag_id} {run_id}" + (f": {names}" if names else "")
    return subject, "\n".join(lines)


def on_dag_failure(context: Mapping[str, Any]) -> None:
    """DAG on_failure_callback: the whole run summarised once, after the per-task alerts."""
    dag_run = context["dag_run"]
    instances = sorted(dag_run.get_task_instances(), key=lambda t: t.task_id)
    failed = [ti for ti in instances if str(ti.state) == "failed"]
    if failed and all(_already_alerted(ti) for ti in failed):
        log.info("every failed task of %s sent its own alert; no run summary", dag_run.run_id)
        return
    task_states = [(ti.task_id, str(ti.state), ti.try_number, ti.log_url) for ti in instances]
    subject, body = dag_failure_message(dag_run.dag_id, dag_run.run_id, context.get("logical_date"),
                                        context.get("reason"), task_states)
    sns, cfg = _sns_and_settings()
    publish(sns, cfg.alert_topic_arn, subject, body, severity="ERROR", dag_id=dag_run.dag_id, kind="dag_failure")


def sla_miss_message(dag_id: str, deadline: Any, late_runs: Iterable[Mapping[str, Any]],
                     late_tasks: Iterable[str], emails: Sequence[str]) -> tuple[str, str]:
    """late_runs: per missed dump day, its slot, deadline, Airflow's own record date, run and unfinished tasks."""
    runs = list(late_runs)
    days = ", ".join(str(r["dump_day"]) for r in runs)
    subject = f"[tokyobeta] SLA MISSED {dag_id}: gold for {days} not published by {deadline:%H:%M} JST"
    lines = [f"DAG:        {dag_id}", f"SLA task:   {', '.join(sorted(set(late_tasks)))}"]
    for r in runs:
        lines += [
            "",
            f"Dump day:   {r['dump_day']}  (deadline {r['deadline']:%Y-%m-%d %H:%M} JST)",
            f"Run:        {r['run_id'] or 'no run exists for this slot'} ({r['run_state'] or '-'})",
            f"Grid:       {run_url(dag_id, r['run_id']) if r['run_id'] else '-'}",
            "Unfinished: " + (", ".join(f"{t} ({s})" for t, s in r["unfinished"]) or "-"),
            f"Airflow records this miss under the next slot, {r['recorded_under']:%Y-%m-%d %H:%M %Z}.",
        ]
    lines += ["", "SLA e-mail: " + (", ".join(emails) if emails else "no SLA_EMAILS configured")]
    return subject, "\n".join(lines)


def on_sla_miss(dag: Any, task_list: str, blocking_task_list: str, slas: Sequence[Any],
                blocking_tis: Sequence[Any]) -> None:
    """sla_miss_callback (run by the DAG processor). Airflow records a miss of the run at slot D
    under D's next slot (ops/sla.py explains why); the message names the dump day that missed."""
    from tokyobeta.io import airflow_runs
    from tokyobeta.ops import sla as sla_rules

    sns, cfg = _sns_and_settings()
    late_runs = []
    for recorded_under in sorted({miss.execution_date for miss in slas}):
        slot = sla_rules.late_slot(cfg.daily_schedule, recorded_under)
        run = airflow_runs.run_at(dag.dag_id, slot)
        late_runs.append({
            "dump_day": slot.astimezone(sla_rules.TOKYO).date(),
            "deadline": sla_rules.deadline_after(slot, cfg.sla_gold_deadline),
            "recorded_under": recorded_under.astimezone(sla_rules.TOKYO),
            "run_id": run.run_id if run else None,
            "run_state": run.state if run else None,
            "unfinished": run.unfinished if run else [],
        })
    subject, body = sla_miss_message(dag.dag_id, cfg.sla_gold_deadline, late_runs,
                                     [miss.task_id for miss in slas], cfg.sla_emails)
    publish(sns, cfg.alert_topic_arn, subject, body, severity="ERROR", dag_id=dag.dag_id, kind="sla_miss")


def notify(context: Mapping[str, Any], subject: str, message: str, severity: str, *, kind: str = "notice") -> None:
    """A notice from inside a task (quarantined day, archive warning, freshness breaches)."""
    from tokyobeta import settings
    from tokyobeta.io import aws

    cfg = settings.for_task(context)
    dag_id = context["dag"].dag_id if context.get("dag") else ""
    publish(aws.sns(cfg.aws_conn_id), cfg.alert_topic_arn, f"[tokyobeta] {subject}", message,
            severity=severity, dag_id=dag_id, kind=kind)
