"""One dump day's ingestion, as the daily DAG's tasks and `tokyobeta load-dump` run it: the same
checks, the same evidence and the same history, whichever of them calls.

  judge_in_bucket / judge_local   manifest, provenance and the dump's size -> a Verdict
  quarantine                      record the verdict in ops, keep the evidence, tell people
  load                            stream, verify and swap; the outcome goes to ops.load_history

Clients and connections come in as arguments (the callers build them from the Airflow
connections), so this module imports neither Airflow nor boto3.
"""

from __future__ import annotations

import json
import logging
import os
import re
import stat
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, BinaryIO, Callable

from tokyobeta import settings
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ingest import provenance, quarantine as quarantine_mod
from tokyobeta.ingest.manifest import ExpectedSource, Manifest, ManifestError, ReasonCode, Status, Verdict
from tokyobeta.ingest.staging import Loader, LoadResult, Progress, QuarantineDump
from tokyobeta.ops.history import History

log = logging.getLogger(__name__)

Notify = Callable[[str, str, str], None]  # subject, message, severity
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


@dataclass(frozen=True)
class DumpAt:
    """Where a day's dump and manifest are: in the bucket (s3 set) or in local files."""
    dump: str
    manifest: str
    s3: Any = None
    bucket: str = ""

    @classmethod
    def in_bucket(cls, cfg: settings.Settings, s3: Any, day: date, dump_key: str | None = None) -> "DumpAt":
        return cls(dump_key or cfg.dump_key(day), cfg.manifest_key(day), s3, cfg.dump_bucket)

    def url(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}" if self.s3 is not None else key


@dataclass
class Outcome:
    """What happened to a day: loaded, dry_run (verified, not swapped) or quarantined."""
    status: str
    verdict: Verdict
    result: LoadResult | None = None
    evidence: dict[str, str | None] | None = None


def _object_size(s3: Any, bucket: str, key: str) -> int | None:
    try:
        return s3.head_object(Bucket=bucket, Key=key)["ContentLength"]
    except s3.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return None
        raise


def read_manifest(at: DumpAt, day: date) -> Manifest:
    """The day's manifest, parsed and validated (ManifestError names the field)."""
    if at.s3 is None:
        with open(at.manifest, "rb") as fh:
            raw = fh.read()
    else:
        raw = at.s3.get_object(Bucket=at.bucket, Key=at.manifest)["Body"].read()
    return manifest_mod.parse(raw, expected_date=day)


def _manifest_invalid(day: date, at: DumpAt, exc: ManifestError) -> Verdict:
    return Verdict(day, Status.QUARANTINED, (ReasonCode.MANIFEST_INVALID.value,), f"{at.url(at.manifest)}: {exc}")


def judge_in_bucket(cfg: settings.Settings, s3: Any, secrets: Any, day: date, *,
                    expected_source: Callable[[], ExpectedSource] | None = None) -> tuple[Verdict, DumpAt]:
    """The verdict on a day whose dump and manifest are in the bucket, and where they are.
    `expected_source` lets a caller judging many days read the trusted source once; by default
    it is read from Secrets Manager (or the settings) for this day, and only if a manifest exists."""
    at = DumpAt.in_bucket(cfg, s3, day)
    if _object_size(s3, at.bucket, at.manifest) is None:
        return Verdict(day, Status.MISSING, (), f"manifest {at.url(at.manifest)} does not exist"), at
    try:
        manifest = read_manifest(at, day)
    except ManifestError as exc:
        # The dump key the manifest should have named: the plain or the gzip one, whichever exists.
        gz = at.dump + ".gz"
        if _object_size(s3, at.bucket, at.dump) is None and _object_size(s3, at.bucket, gz) is not None:
            at = DumpAt.in_bucket(cfg, s3, day, gz)
        return _manifest_invalid(day, at, exc), at
    at = DumpAt.in_bucket(cfg, s3, day, manifest.dump_key)
    expected = expected_source() if expected_source else provenance.expected_source(cfg, secrets)
    return manifest_mod.judge(manifest, expected, _object_size(s3, at.bucket, manifest.dump_key)), at


def _day_of_local(dump_path: str, manifest_path: str) -> date:
    """The day local files are for: the manifest's dump_date, else the gghouse_YYYYMMDD name."""
    try:
        with open(manifest_path, "rb") as fh:
            return date.fromisoformat(json.loads(fh.read())["dump_date"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    for path in (manifest_path, dump_path):
        m = re.search(r"gghouse_(\d{8})", os.path.basename(path))
        if m:
            return datetime.strptime(m.group(1), "%Y%m%d").date()
    raise ValueError(f"cannot tell which day {manifest_path} is for (no readable dump_date, no gghouse_YYYYMMDD "
                     "in the file names): pass --date")


def judge_local(cfg: settings.Settings, secrets: Any, day: date | None, dump_path: str,
                manifest_path: str) -> tuple[Verdict, DumpAt]:
    """The same verdict for a dump and manifest in local files (the operator's emergency path).
    A pipe or stdin has no size up front: the streaming pass checks it."""
    at = DumpAt(dump_path, manifest_path)
    day = day or _day_of_local(dump_path, manifest_path)
    try:
        manifest = read_manifest(at, day)
    except ManifestError as exc:
        return _manifest_invalid(day, at, exc), at
    expected = provenance.expected_source(cfg, secrets)
    try:
        info = os.stat(dump_path)
    except FileNotFoundError:
        size = None
    else:
        size = info.st_size if stat.S_ISREG(info.st_mode) else manifest.dump_bytes
    return manifest_mod.judge(manifest, expected, size), at


def quarantine(conn: Any, cfg: settings.Settings, verdict: Verdict, at: DumpAt, run_id: str,
               notify: Notify | None) -> dict[str, str | None]:
    """Record, keep the evidence, tell people. Staging is not touched. A dump its publisher
    declared invalid is only skipped (the publisher already knows why): no copy is made."""
    History(conn, cfg.schemas(), cfg.include_path).record_verdict(verdict, run_id)
    declared = verdict.manifest is not None and not (verdict.manifest.valid_for_etl and verdict.manifest.source_valid)
    evidence: dict[str, str | None] = {}
    if at.s3 is not None and verdict.status is Status.QUARANTINED and not declared:
        evidence = quarantine_mod.quarantine(at.s3, at.bucket, cfg.quarantine_prefix, verdict, at.dump, at.manifest,
                                             run_id)
    lines = [
        f"Dump date:  {verdict.dump_date}",
        f"Verdict:    {verdict.status.value}",
        f"Reasons:    {', '.join(verdict.reasons) or '-'}",
        f"Detail:     {verdict.detail}",
        f"Dump:       {at.url(at.dump)}",
        f"Manifest:   {at.url(at.manifest)}",
        *(f"Evidence:   {at.url(key)}" for key in evidence.values() if key),
        "Nothing was loaded; staging still holds the previous good load.",
        f"Run:        {run_id}",
    ]
    if declared:
        subject = f"SKIPPED dump {verdict.dump_date}: declared not valid for ETL ({' '.join(verdict.reasons)})"
    elif verdict.status is Status.MISSING:
        subject = f"MISSING dump {verdict.dump_date}: no manifest"
    else:
        subject = f"QUARANTINED dump {verdict.dump_date}: {' '.join(verdict.reasons)}"
    message = "\n".join(lines)
    log.warning("%s\n%s", subject, message)
    if notify is not None:
        notify(subject, message, "WARNING" if declared else "ERROR")
    return evidence


def load(conn: Any, cfg: settings.Settings, manifest: Manifest, body: BinaryIO, at: DumpAt, run_id: str,
         notify: Notify | None, *, dry_run: bool = False, progress: Callable[[Progress], None] | None = None,
         connect: Callable[[], Any] | None = None, version_id: str | None = None) -> Outcome:
    """Load the day (or only verify it, dry_run). A dump found unfit while streaming is
    quarantined (unless dry_run) and reported in the Outcome; any other failure raises.
    Either way the attempt is in ops.load_history, with `version_id` (the S3 version of the
    object `body` streams, for lineage). `connect` opens another connection like `conn`, so
    that tables load in parallel."""
    history = History(conn, cfg.schemas(), cfg.include_path)
    history.ensure_tables()
    loader = Loader(conn, cfg.schemas(), cfg.include_path, cfg.staging_backups_kept, connect=connect)
    started = datetime.now(timezone.utc)
    try:
        result = loader.load(body, manifest, dry_run=dry_run, progress=progress)
    except QuarantineDump as exc:
        verdict = Verdict(manifest.dump_date, Status.QUARANTINED, exc.reasons, exc.detail, manifest)
        if dry_run:
            history.record_load(manifest, "dry_run", run_id, started, detail=f"would be quarantined: {exc}",
                                version_id=version_id)
            return Outcome("quarantined", verdict)
        history.record_load(manifest, "quarantined", run_id, started, detail=str(exc), version_id=version_id)
        return Outcome("quarantined", verdict, evidence=quarantine(conn, cfg, verdict, at, run_id, notify))
    except BaseException as exc:
        try:
            history.record_load(manifest, "failed", run_id, started, detail=repr(exc), version_id=version_id)
        except Exception:  # the load's own failure is the one to report
            log.warning("could not record the failed load in ops.load_history", exc_info=True)
        raise
    status = "dry_run" if dry_run else "loaded"
    history.record_load(manifest, status, run_id, started, result,
                        detail="verified, not swapped" if dry_run else f"backups: {', '.join(result.backups) or '-'}",
                        version_id=version_id)
    verdict = Verdict(manifest.dump_date, Status.LOADABLE, (), "loaded" if not dry_run else "verified", manifest)
    return Outcome(status, verdict, result)
