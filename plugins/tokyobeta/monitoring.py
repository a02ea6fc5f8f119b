"""Callables of the monitoring tasks: the heartbeat every scheduled DAG starts with, the
tokyobeta_freshness check and the tokyobeta_alert_drill failure. Each resolves its settings,
opens its clients and hands over to the module that does the work."""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any

from tokyobeta import settings
from tokyobeta.io import airflow_runs, aws, mysql
from tokyobeta.ops import alerts, freshness, metrics

log = logging.getLogger(__name__)

DAILY_DAG_ID = "tokyobeta_daily_etl"


class FreshnessCheckError(RuntimeError):
    """The check could not see something it must see; it fails rather than report half."""


class AlertDrillFailure(RuntimeError):
    """Raised on purpose by tokyobeta_alert_drill."""


def heartbeat(**context: Any) -> dict[str, Any]:
    """Heartbeat=1 for this DAG, stamped with the wall clock: the alarm watches for silence."""
    cfg = settings.for_task(context)
    dag_id = context["dag"].dag_id
    metrics.put(aws.cloudwatch(cfg.aws_conn_id), cfg.metrics_namespace, [metrics.heartbeat(dag_id)],
                datetime.now(timezone.utc))
    return {"namespace": cfg.metrics_namespace, "dag": dag_id}


def observe(cfg: settings.Settings, as_of: datetime) -> freshness.Observation:
    try:
        with mysql.connection(cfg.mysql_conn_id) as conn:
            tables = freshness.observe_tables(conn, cfg.schemas(), cfg.include_path)
    except Exception as exc:
        raise FreshnessCheckError(f"could not read the warehouse through connection {cfg.mysql_conn_id!r} "
                                  f"({type(exc).__name__}: {exc}); fix the connection or the schema and rerun "
                                  "check_freshness") from exc
    upstream = freshness.newest_valid_manifest(aws.s3(cfg.aws_conn_id), cfg.dump_bucket, cfg.manifest_prefix,
                                               as_of.astimezone(freshness.TOKYO).date())
    return freshness.Observation(as_of, tables, upstream, airflow_runs.newest_success(DAILY_DAG_ID, as_of))


def check_freshness(**context: Any) -> dict[str, Any]:
    """Observe everything, then publish every metric, then one alert listing every breach."""
    cfg = settings.for_task(context)
    # A stdlib datetime: pendulum's arithmetic does not mix with timedelta division.
    as_of = datetime.fromtimestamp(context["logical_date"].timestamp(), tz=timezone.utc)
    obs = observe(cfg, as_of)
    findings = freshness.evaluate(obs, freshness.Limits(
        cfg.staleness_threshold_days, cfg.upstream_max_age_hours, cfg.max_hours_since_daily_success))
    for finding in findings:
        log.info("%s%s", "BREACH " if finding.breach else "ok     ", finding.line())
    published = metrics.put(aws.cloudwatch(cfg.aws_conn_id), cfg.metrics_namespace,
                            [f.datum for f in findings if f.datum is not None], as_of)
    text = freshness.alert_text(obs, findings)
    if text:
        alerts.notify(context, *text, severity="ERROR", kind="freshness")
    return {"as_of": as_of.isoformat(), "metrics": published, "breaches": [f.subject for f in findings if f.breach]}


def fail_on_purpose(**context: Any) -> None:
    run_id = context["run_id"]
    note = (context.get("params") or {}).get("note") or ""
    raise AlertDrillFailure(
        f"ALERT DRILL {run_id}: this failure is intentional{f' ({note})' if note else ''}. If you are reading it "
        "in the on-call channel or mailbox, the failure path works: Airflow -> SNS -> you. Record the drill "
        "(README, 'Monthly alert drill') and close it; nothing needs fixing.")
