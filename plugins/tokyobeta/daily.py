"""Callables of tokyobeta_daily_etl's Python tasks: each resolves its settings and dump date,
opens its clients, and hands over to the module that does the work."""

from __future__ import annotations

import logging
from datetime import date, datetime, timezone
from typing import Any

from tokyobeta import settings
from tokyobeta.dates import dump_date_for
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ingest import provenance, quarantine
from tokyobeta.ingest.manifest import Manifest, ManifestError, ReasonCode, Status, Verdict
from tokyobeta.ingest.staging import Loader, QuarantineDump
from tokyobeta.io import aws, mysql
from tokyobeta.ops import alerts
from tokyobeta.ops.history import History
from tokyobeta.ui import notes
from tokyobeta.ui.links import record_s3_objects

log = logging.getLogger(__name__)


def _skip(message: str) -> None:
    from airflow.exceptions import AirflowSkipException

    raise AirflowSkipException(message)


def _object_size(s3: Any, bucket: str, key: str) -> int | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in {"404", "NoSuchKey", "NotFound"}:
            return None
        raise


def read_manifest(cfg: settings.Settings, s3: Any, day: date) -> Manifest:
    key = cfg.manifest_key(day)
    body = s3.get_object(Bucket=cfg.dump_bucket, Key=key)["Body"].read()
    return manifest_mod.parse(body, expected_date=day)


def _quarantine_day(context: dict, cfg: settings.Settings, s3: Any, verdict: Verdict, dump_key: str) -> None:
    """Record, keep the evidence, tell people. Staging is not touched."""
    run_id = context["run_id"]
    with mysql.connection(cfg.mysql_conn_id) as conn:
        History(conn, cfg.schemas(), cfg.include_path).record_verdict(verdict, run_id)
    declared = ReasonCode.DECLARED_INVALID.value in verdict.reasons or (
        verdict.manifest is not None and not verdict.manifest.valid_for_etl)
    written = {} if declared else quarantine.quarantine(
        s3, cfg.dump_bucket, cfg.quarantine_prefix, verdict, dump_key, run_id)
    message = "\n".join([
        f"Dump date:  {verdict.dump_date}",
        f"Verdict:    {verdict.status.value}",
        f"Reasons:    {', '.join(verdict.reasons)}",
        f"Detail:     {verdict.detail}",
        f"Dump:       s3://{cfg.dump_bucket}/{dump_key}",
        *(f"Evidence:   s3://{cfg.dump_bucket}/{k}" for k in written.values() if k),
        "Nothing was loaded; staging still holds the previous good load.",
        f"Run:        {run_id}",
    ])
    subject = f"{'SKIPPED' if declared else 'QUARANTINED'} dump {verdict.dump_date}: {' '.join(verdict.reasons)}"
    record_s3_objects(context, cfg.dump_bucket, quarantine=written.get("verdict"))
    notes.explain(context, f"{subject}\n{message}")
    alerts.notify(context, subject, message, severity="WARNING" if declared else "ERROR")
    log.warning("%s\n%s", subject, message)


def check_manifest(**context: Any) -> bool:
    """ShortCircuit: True lets the day load; False skips every downstream task."""
    cfg = settings.for_task(context)
    day = dump_date_for(context)
    s3 = aws.s3(cfg.aws_conn_id)
    dump_key = cfg.dump_key(day)
    record_s3_objects(context, cfg.dump_bucket, manifest=cfg.manifest_key(day))
    try:
        manifest = read_manifest(cfg, s3, day)
    except ManifestError as exc:
        verdict = Verdict(day, Status.QUARANTINED, (ReasonCode.MANIFEST_INVALID.value,), str(exc))
        _quarantine_day(context, cfg, s3, verdict, dump_key)
        return False
    record_s3_objects(context, cfg.dump_bucket, dump=manifest.dump_key)
    expected = provenance.expected_source(cfg, aws.secretsmanager(cfg.aws_conn_id))
    verdict = manifest_mod.judge(manifest, expected, _object_size(s3, cfg.dump_bucket, manifest.dump_key))
    context["ti"].xcom_push(key="verdict", value=verdict.to_dict())
    if not verdict.loadable:
        _quarantine_day(context, cfg, s3, verdict, manifest.dump_key)
        return False
    with mysql.connection(cfg.mysql_conn_id) as conn:
        History(conn, cfg.schemas(), cfg.include_path).record_verdict(verdict, context["run_id"])
    log.info("dump %s is loadable: %s", manifest.dump_key, verdict.detail)
    return True


def load_staging(**context: Any) -> dict[str, Any]:
    cfg = settings.for_task(context)
    day = dump_date_for(context)
    s3 = aws.s3(cfg.aws_conn_id)
    manifest = read_manifest(cfg, s3, day)
    record_s3_objects(context, cfg.dump_bucket, manifest=cfg.manifest_key(day), dump=manifest.dump_key)
    body = s3.get_object(Bucket=cfg.dump_bucket, Key=manifest.dump_key)["Body"]
    started = datetime.now(timezone.utc)
    with mysql.connection(cfg.mysql_conn_id) as conn:
        history = History(conn, cfg.schemas(), cfg.include_path)
        history.ensure_tables()
        loader = Loader(conn, cfg.schemas(), cfg.include_path, cfg.staging_backups_kept)
        try:
            result = loader.load(body, manifest)
        except QuarantineDump as exc:
            history.record_load(manifest, "quarantined", context["run_id"], started, detail=str(exc))
            verdict = Verdict(day, Status.QUARANTINED, exc.reasons, exc.detail, manifest)
            _quarantine_day(context, cfg, s3, verdict, manifest.dump_key)
            _skip(f"dump quarantined while loading: {exc}")
        except Exception as exc:
            history.record_load(manifest, "failed", context["run_id"], started, detail=repr(exc))
            raise
        history.record_load(manifest, "loaded", context["run_id"], started, result)
    log.info("loaded %s: %s", manifest.dump_key, result.to_dict())
    return result.to_dict()


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


def upsert_kpis(**context: Any) -> dict[str, Any]:
    from tokyobeta.transform import kpi

    cfg = settings.for_task(context)
    if not cfg.kpi_enabled:
        log.warning("KPI upsert disabled by KPI_ENABLED=false")
        return {"enabled": False}
    with mysql.connection(cfg.mysql_conn_id) as conn:
        summary = kpi.upsert(conn, cfg.schemas(), cfg.include_path, cfg.kpi_lookback_days, cfg.kpi_forward_days)
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
        if cfg.daily_fail_on_archive_error:
            raise
        log.exception("archiving the dump of %s failed; the run goes on (DAILY_FAIL_ON_ARCHIVE_ERROR=false)", day)
        alerts.notify(context, f"archive of dump {day} failed (run continues)",
                      f"{alerts.exception_head(exc)}\nRun: {context['run_id']}\n"
                      f"Copying the dump of {day} to s3://{cfg.dump_bucket}/{cfg.archive_prefix} failed; "
                      "the data is loaded and published. Fix the cause and clear archive_dump "
                      "(DAILY_FAIL_ON_ARCHIVE_ERROR=true makes this fail the run).",
                      severity="WARNING", kind="archive_warning")
        return {"archived": False, "error": alerts.exception_head(exc, 2)}
    record_s3_objects(context, cfg.dump_bucket, dump=manifest.dump_key, archive=dest)
    log.info("archived to s3://%s/%s", cfg.dump_bucket, dest)
    return {"archived": True, "key": dest}
