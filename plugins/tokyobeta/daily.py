"""Callables of tokyobeta_daily_etl's Python tasks: each resolves its settings and dump date,
opens its clients, and hands over to the module that does the work."""

from __future__ import annotations

import logging
from datetime import date
from typing import Any

from tokyobeta import settings
from tokyobeta.dates import dump_date_for
from tokyobeta.ingest import day as ingest_day
from tokyobeta.ingest.manifest import Manifest, Verdict
from tokyobeta.io import aws, mysql
from tokyobeta.ops import alerts
from tokyobeta.ops.history import History
from tokyobeta.ui import notes
from tokyobeta.ui.links import record_s3_objects

log = logging.getLogger(__name__)


def _skip(message: str) -> None:
    from airflow.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


def read_manifest(cfg: settings.Settings, s3: Any, day: date) -> Manifest:
    return ingest_day.read_manifest(ingest_day.DumpAt.in_bucket(cfg, s3, day), day)


def _notifier(context: dict) -> ingest_day.Notify:
    """A quarantine notice goes to the task's and the run's notes (the grid view) and to SNS."""
    def notify(subject: str, message: str, severity: str) -> None:
        notes.explain(context, f"{subject}\n{message}")
        alerts.notify(context, subject, message, severity=severity)
    return notify


def _judge(context: dict, cfg: settings.Settings, s3: Any, conn: Any) -> tuple[Verdict, ingest_day.DumpAt]:
    """The day's verdict; a day that is not loadable is quarantined (recorded, evidence, alert).
    The objects it looked at become the task's S3 links."""
    verdict, at = ingest_day.judge_in_bucket(cfg, s3, aws.secretsmanager(cfg.aws_conn_id), dump_date_for(context))
    record_s3_objects(context, cfg.dump_bucket, manifest=at.manifest, dump=at.dump if verdict.manifest else None)
    if not verdict.loadable:
        evidence = ingest_day.quarantine(conn, cfg, verdict, at, context["run_id"], _notifier(context))
        record_s3_objects(context, cfg.dump_bucket, quarantine=evidence.get("verdict"))
    return verdict, at


def check_manifest(**context: Any) -> bool:
    """ShortCircuit: True lets the day load; False skips every downstream task."""
    cfg = settings.for_task(context)
    s3 = aws.s3(cfg.aws_conn_id)
    with mysql.connection(cfg.mysql_conn_id) as conn:
        verdict, at = _judge(context, cfg, s3, conn)
        context["ti"].xcom_push(key="verdict", value=verdict.to_dict())
        if not verdict.loadable:
            return False
        History(conn, cfg.schemas(), cfg.include_path).record_verdict(verdict, context["run_id"])
    log.info("dump %s is loadable: %s", at.url(at.dump), verdict.detail)
    return True


def load_staging(**context: Any) -> dict[str, Any]:
    cfg = settings.for_task(context)
    s3 = aws.s3(cfg.aws_conn_id)
    with mysql.connection(cfg.mysql_conn_id) as conn:
        # Judged again: the manifest may have changed since check_manifest, or this task is
        # being rerun on its own.
        verdict, at = _judge(context, cfg, s3, conn)
        if not verdict.loadable:
            _skip(f"dump not loadable: {', '.join(verdict.reasons)}: {verdict.detail}")
        obj = s3.get_object(Bucket=cfg.dump_bucket, Key=at.dump)
        body = obj["Body"]
        try:
            outcome = ingest_day.load(conn, cfg, verdict.manifest, body, at, context["run_id"], _notifier(context),
                                      connect=lambda: mysql.connect(cfg.mysql_conn_id), version_id=obj.get("VersionId"))
        finally:
            body.close()
    if outcome.status == "quarantined":
        record_s3_objects(context, cfg.dump_bucket, quarantine=(outcome.evidence or {}).get("verdict"))
        _skip(f"dump quarantined while loading: {', '.join(outcome.verdict.reasons)}: {outcome.verdict.detail}")
    log.info("loaded %s: %s", at.url(at.dump), outcome.result.to_dict())
    return outcome.result.to_dict()


def enrich(**context: Any) -> dict[str, Any]:
    from tokyobeta.enrich import providers
    from tokyobeta.enrich.run import Enricher, problems

    cfg = settings.for_task(context)
    if not cfg.enrichment_enabled:
        log.warning("enrichment disabled by ENRICHMENT_ENABLED=false; silver keeps the previous answers")
        return {"enabled": False}
    with mysql.connection(cfg.mysql_conn_id) as conn:
        enricher = Enricher(conn, cfg.schemas(), cfg.include_path, providers.from_settings(cfg),
                            cfg.enrichment_max_model_calls)
        report = enricher.run()
    found = problems(report, cfg.enrichment_max_failure_rate)
    if found:
        from airflow.exceptions import AirflowException, AirflowFailException

        message = "enrichment failed: " + "; ".join(found) + ". The answers it did get are saved (maps and caches)."
        # Nothing attempted is a configuration problem a retry cannot fix; a high failure
        # rate (throttling, an outage) may pass, so that one is retried.
        raise (AirflowException if report["total"]["model_calls"] else AirflowFailException)(message)
    return report


# What a held day's note and alert tell the operator to clear once the data or model is fixed:
# the dbt groups rebuild the candidates from the staging load, then audit and publish follow.
REBUILD_TASK = "dbt_silver"


def audit_candidates(**context: Any) -> dict[str, Any]:
    """The audit of write-audit-publish: every model test and the KPI sanity checks against the
    candidates. A failure holds the day: one alert, a note, PublicationHeld (no retry)."""
    from tokyobeta.transform import publish as wap

    cfg = settings.for_task(context)
    day, run_id = dump_date_for(context), context["run_id"]
    schemas = cfg.schemas()
    with mysql.connection(cfg.mysql_conn_id) as conn:
        ids = wap.open_publications(conn, schemas, cfg.include_path, day, run_id, cfg.manifest_key(day))
        with wap.airflow_dbt_profile(cfg) as (profile_args, env):
            result = wap.audit(conn, schemas, cfg.include_path, wap.read_manifest(cfg.dbt_project_path), day,
                               dbt_executable=cfg.dbt_executable_path, profile_args=profile_args, env=env,
                               max_rooms_drop_share=cfg.kpi_max_rooms_drop_share,
                               max_daily_move_ins=cfg.kpi_max_daily_move_ins, publication_ids=ids)
        wap.record_audit(conn, schemas, ids, result)
    summary = {"publications": ids, "passed": result.passed, "failures": len(result.failures),
               "seconds": round(result.seconds, 2)}
    if result.passed:
        log.info("candidates of %s passed the audit: %s", day, summary)
        return summary
    subject, body = wap.held_message(day, run_id, result.failures, schemas, REBUILD_TASK)
    log.error("%s\n%s", subject, body)
    notes.explain(context, body)
    alerts.notify(context, subject, body, severity="ERROR", kind="publication_held")
    alerts.mark_alerted(context)
    raise wap.PublicationHeld(subject)


def publish_silver_gold(**context: Any) -> dict[str, Any]:
    """The publish of write-audit-publish: one RENAME TABLE swaps the audited candidates in."""
    from tokyobeta.transform import publish as wap

    cfg = settings.for_task(context)
    day = dump_date_for(context)
    with mysql.connection(cfg.mysql_conn_id) as conn:
        outcome = wap.publish(conn, cfg.schemas(), wap.read_manifest(cfg.dbt_project_path), day, context["run_id"])
    log.info("published silver and gold of %s: %s", day, outcome)
    return outcome


def _record_step(cfg: settings.Settings, context: dict, step: str, status: str, detail: dict[str, Any]) -> None:
    """The step's row in ops.step_log, which lineage reads. Only a DAG run has a day and a run
    to record (a direct call, as tests make, has neither)."""
    if not context.get("run_id"):
        return
    with mysql.connection(cfg.mysql_conn_id) as conn:
        History(conn, cfg.schemas(), cfg.include_path).record_step(dump_date_for(context), step, context["run_id"],
                                                                   status, detail)


def upsert_kpis(**context: Any) -> dict[str, Any]:
    from tokyobeta.transform import kpi

    cfg = settings.for_task(context)
    if not cfg.kpi_enabled:
        log.warning("KPI upsert disabled by KPI_ENABLED=false")
        _record_step(cfg, context, "upsert_kpis", "skipped", {"reason": "KPI_ENABLED=false"})
        return {"enabled": False}
    with mysql.connection(cfg.mysql_conn_id) as conn:
        summary = kpi.upsert(conn, cfg.schemas(), cfg.include_path, cfg.kpi_lookback_days, cfg.kpi_forward_days)
    _record_step(cfg, context, "upsert_kpis", "done", summary)
    log.info("occupancy_daily_metrics: %s", summary)
    return summary


def archive_dump(**context: Any) -> dict[str, Any]:
    from tokyobeta.ops import archive

    cfg = settings.for_task(context)
    day = dump_date_for(context)
    s3 = aws.s3(cfg.aws_conn_id)
    try:
        manifest = read_manifest(cfg, s3, day)
        dest = archive.archive(s3, cfg.dump_bucket, manifest.dump_key, cfg.archive_prefix,
                               run_id=context["run_id"], sha256=manifest.dump_sha256)
    except Exception as exc:
        _record_step(cfg, context, "archive_dump", "failed", {"error": alerts.exception_head(exc, 2)})
        if cfg.daily_fail_on_archive_error:
            raise
        log.exception("archiving the dump of %s failed; the run goes on (DAILY_FAIL_ON_ARCHIVE_ERROR=false)", day)
        alerts.notify(context, f"archive of dump {day} failed (run continues)",
                      f"{alerts.exception_head(exc)}\nRun: {context['run_id']}\n"
                      f"Copying the dump of {day} to s3://{cfg.dump_bucket}/{cfg.archive_prefix} failed; "
                      "the data is loaded and published. Fix the cause and clear archive_dump "
                      "(DAILY_FAIL_ON_ARCHIVE_ERROR=true makes this fail the run).",
                      severity="WARNING", kind="archive_warning")
        _lineage_note(context, cfg, day)
        return {"archived": False, "error": alerts.exception_head(exc, 2)}
    record_s3_objects(context, cfg.dump_bucket, dump=manifest.dump_key, archive=dest)
    version = s3.head_object(Bucket=cfg.dump_bucket, Key=dest).get("VersionId")
    _record_step(cfg, context, "archive_dump", "done", {"bucket": cfg.dump_bucket, "key": dest, "version_id": version,
                                                        "dump_key": manifest.dump_key, "sha256": manifest.dump_sha256})
    log.info("archived to s3://%s/%s", cfg.dump_bucket, dest)
    _lineage_note(context, cfg, day)
    return {"archived": True, "key": dest, "version_id": version}


def _lineage_note(context: dict, cfg: settings.Settings, day: date) -> None:
    """The day's chain, dump to archive, as the run's note (and OpenLineage events when
    OPENLINEAGE_EVENTS is on): the last task is the first moment every link can be there.
    Never fails the task: the data is published and archived by now."""
    from tokyobeta.ops import lineage

    try:
        with mysql.connection(cfg.mysql_conn_id) as conn:
            chain = lineage.collect(conn, cfg, day)
        notes.explain(context, lineage.render_note(chain, context.get("run_id")))
        if cfg.openlineage_events:
            lineage.emit_openlineage(chain)
    except Exception:  # noqa: BLE001 - see the docstring
        log.exception("could not write the lineage of %s", day)
