"""Alerts go to one SNS topic, with message attributes (severity, dag_id) subscribers filter on.

A missing topic is a configuration error raised loudly: the legacy alarm sat silent for weeks.
"""

from __future__ import annotations

import logging
import traceback
from typing import Any, Mapping

log = logging.getLogger(__name__)

SUBJECT_MAX = 100  # SNS rejects longer subjects


class AlertConfigError(RuntimeError):
    pass


def publish(sns: Any, topic_arn: str, subject: str, message: str, *, severity: str,
            dag_id: str = "", extra_attributes: Mapping[str, str] | None = None) -> str:
    if not topic_arn:
        raise AlertConfigError("ALERT_TOPIC_ARN is empty: set the Airflow Variable or environment variable "
                               "ALERT_TOPIC_ARN to the SNS topic alerts must reach")
    attributes = {"severity": severity, "dag_id": dag_id or "-", **(extra_attributes or {})}
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


def task_failure_message(context: Mapping[str, Any]) -> tuple[str, str]:
    ti = context["task_instance"]
    dag_run = context.get("dag_run")
    subject = f"[tokyobeta] FAILED {ti.dag_id}.{ti.task_id}"
    body = "\n".join([
        f"DAG:          {ti.dag_id}",
        f"Task:         {ti.task_id}",
        f"Run:          {dag_run.run_id if dag_run else ti.run_id}",
        f"Logical date: {context.get('logical_date')}",
        f"Try:          {ti.try_number} of {ti.max_tries + 1}",
        f"Log:          {ti.log_url}",
        "",
        "Exception:",
        exception_head(context.get("exception")),
    ])
    return subject, body


def on_task_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: fires only when a task has failed for good (no retry left)."""
    from tokyobeta import settings
    from tokyobeta.io import aws

    cfg = settings.for_task(context)
    subject, body = task_failure_message(context)
    publish(aws.sns(cfg.aws_conn_id), cfg.alert_topic_arn, subject, body,
            severity="ERROR", dag_id=context["task_instance"].dag_id)


def notify(context: Mapping[str, Any], subject: str, message: str, severity: str) -> None:
    """A notice from inside a task (quarantined day, archive warning)."""
    from tokyobeta import settings
    from tokyobeta.io import aws

    cfg = settings.for_task(context)
    dag_id = context["dag"].dag_id if context.get("dag") else ""
    publish(aws.sns(cfg.aws_conn_id), cfg.alert_topic_arn, f"[tokyobeta] {subject}", message,
            severity=severity, dag_id=dag_id)
