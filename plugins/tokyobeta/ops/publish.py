"""Publishes one day's dump of the source and then its manifest (DESIGN section 3).

- Credentials come only from the Secrets Manager secret SOURCE_SECRET_ID (host, port, dbname,
  username, password, all required): no fallback host or database, ever.
- The dump is written in Python (ops/sqldump.py: one consistent snapshot, mysqldump framing)
  and streamed to `dumps/gghouse_YYYYMMDD.sql[.gz]` by multipart upload, sha256 and size
  computed on the fly, rows counted as written.
- The manifest is written last, only once the dump object is complete: its presence with
  valid_for_etl=true means the pair is whole. A failure aborts the upload (nothing appears
  under the key) and writes an INVALID manifest (reason PUBLISH_FAILED, the error in `detail`),
  then re-raises; it never writes a valid one.
- A day that already has a valid manifest (or one quarantined by hand) is only replaced when
  asked (`replace=True`). A failed republish leaves the good pair untouched: the new dump only
  replaces the old object at the very end (S3 completes a multipart upload atomically), and
  just before that the manifest is switched to REPUBLISH_IN_PROGRESS, so no reader can ever
  pair the old manifest with the new bytes.
- PUBLISH_FROZEN stops every publish (incident recovery); quarantine_day() publishes an invalid
  manifest by hand and keeps whatever dump is there.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any, Callable

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ingest.manifest import ReasonCode
from tokyobeta.io.s3stream import MultipartWriter
from tokyobeta.ops import sqldump

log = logging.getLogger(__name__)

REQUIRED_SECRET_FIELDS = ("host", "port", "dbname", "username", "password")
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNFREEZE_HINT = ("set the Airflow Variable PUBLISH_FROZEN to false (or delete it) and, if a day was missed, "
                 "republish it: `tokyobeta publish-dump --date YYYY-MM-DD` or trigger gghouse_dump_publish "
                 "with dump_date")


class SourceSecretError(RuntimeError):
    pass


class PublishRefused(RuntimeError):
    """Publishing would replace a day an operator or a good publish settled; nothing was touched."""


class PublishFrozen(RuntimeError):
    """PUBLISH_FROZEN is on."""


@dataclass(frozen=True)
class SourceCredentials:
    host: str
    port: int
    dbname: str
    username: str
    password: str
    secret_id: str

    def __repr__(self) -> str:  # never a password in a log line or a traceback
        return f"SourceCredentials({self.host}:{self.port}/{self.dbname} as {self.username}, secret {self.secret_id})"


@dataclass(frozen=True)
class Bucket:
    s3: Any
    name: str
    dumps_prefix: str
    manifest_prefix: str

    @classmethod
    def of(cls, cfg: Any, s3: Any, name: str | None = None) -> "Bucket":
        """The configured dump bucket (or another one with the same layout, e.g. a test's)."""
        return cls(s3, name or cfg.dump_bucket, cfg.dumps_prefix, cfg.manifest_prefix)

    def dump_key(self, day: date, gzip: bool = False) -> str:
        return f"{self.dumps_prefix}gghouse_{day:%Y%m%d}.sql" + (".gz" if gzip else "")

    def manifest_key(self, day: date) -> str:
        return f"{self.manifest_prefix}gghouse_{day:%Y%m%d}.json"


def credentials(secrets_client: Any, secret_id: str) -> SourceCredentials:
    raw = secrets_client.get_secret_value(SecretId=secret_id).get("SecretString") or ""
    try:
        doc = json.loads(raw)
    except json.JSONDecodeError:
        raise SourceSecretError(f"secret {secret_id} is not JSON") from None
    if not isinstance(doc, dict):
        raise SourceSecretError(f"secret {secret_id} is not a JSON object")
    missing = [f for f in REQUIRED_SECRET_FIELDS if not str(doc.get(f) or "").strip()]
    if missing:
        raise SourceSecretError(f"secret {secret_id} is missing {', '.join(missing)}: every one of "
                                f"{', '.join(REQUIRED_SECRET_FIELDS)} is required (no default source)")
    try:
        port = int(doc["port"])
    except (TypeError, ValueError):
        raise SourceSecretError(f"secret {secret_id}: port {doc['port']!r} is not a number") from None
    return SourceCredentials(str(doc["host"]), port, str(doc["dbname"]), str(doc["username"]),
                             str(doc["password"]), secret_id)


def check_not_frozen(frozen: bool) -> None:
    if frozen:
        raise PublishFrozen(f"publishing is frozen (PUBLISH_FROZEN=true): no dump or manifest was written; "
                            f"to unfreeze, {UNFREEZE_HINT}")


def _utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)


def read_manifest(bucket: Bucket, day: date) -> manifest_mod.Manifest | None:
    """The day's current manifest; None when there is none. One that does not parse counts as
    none worth protecting (the loader quarantines it anyway)."""
    try:
        body = bucket.s3.get_object(Bucket=bucket.name, Key=bucket.manifest_key(day))["Body"].read()
    except bucket.s3.exceptions.NoSuchKey:
        return None
    try:
        return manifest_mod.parse(body, expected_date=day)
    except manifest_mod.ManifestError:
        return None


def _protected(previous: manifest_mod.Manifest | None) -> bool:
    return previous is not None and (
        previous.valid_for_etl or ReasonCode.MANUAL_QUARANTINE.value in previous.reason_codes)


def write_manifest(bucket: Bucket, manifest: manifest_mod.Manifest) -> str:
    key = bucket.manifest_key(manifest.dump_date)
    bucket.s3.put_object(Bucket=bucket.name, Key=key, Body=manifest.to_json().encode(), ContentType="application/json")
    return key


def invalid_manifest(day: date, key: str, source: manifest_mod.Source, reasons: tuple[str, ...], detail: str, *,
                     source_valid: bool = True, dump_bytes: int = 0, dump_sha256: str = EMPTY_SHA256,
                     started: datetime | None = None) -> manifest_mod.Manifest:
    now = _utc_now()
    return manifest_mod.Manifest(
        dump_date=day, dump_key=key, dump_bytes=dump_bytes, dump_sha256=dump_sha256, source=source,
        source_valid=source_valid, valid_for_etl=False, reason_codes=reasons,
        table_row_counts={t: 0 for t in TABLE_NAMES}, dump_started_at=started or now, dump_finished_at=now,
        published_at=now, detail=detail)


def publish(bucket: Bucket, secrets: Any, secret_id: str, day: date, *, gzip: bool = False, replace: bool = False,
            database: str | None = None, connect: Callable[..., Any] = sqldump.raw_connection,
            on_table: Callable[[str, int], None] | None = None) -> manifest_mod.Manifest:
    """Dump the secret's source database for `day`, then its manifest. See the module doc."""
    key = bucket.dump_key(day, gzip)
    previous = read_manifest(bucket, day)
    if _protected(previous) and not replace:
        state = "valid" if previous.valid_for_etl else f"quarantined by hand ({previous.detail or 'no reason given'})"
        raise PublishRefused(f"{bucket.manifest_key(day)} is already {state}; nothing was changed. To publish "
                             f"the day again use `tokyobeta publish-dump --date {day} --replace` (DAG param replace)")
    started = _utc_now()
    source = manifest_mod.Source("", "", secret_id)
    source_valid = False
    writer: MultipartWriter | None = None
    in_progress_written = False
    try:
        creds = credentials(secrets, secret_id)
        source = manifest_mod.Source(creds.host, database or creds.dbname, secret_id)
        source_valid = True
        conn = connect(creds.host, creds.port, creds.username, creds.password, database or creds.dbname)
        try:
            writer = MultipartWriter(bucket.s3, bucket.name, key, gzip=gzip)
            result = sqldump.dump_database(conn, database or creds.dbname, writer.write, host=creds.host,
                                           required_tables=TABLE_NAMES, on_table=on_table)
        finally:
            conn.close()
        writer.finish()  # every byte uploaded; nothing visible under the key yet
        finished = _utc_now()
        if _protected(previous):
            # From here the object under the key changes: first make sure no reader pairs the
            # old manifest with the new bytes.
            write_manifest(bucket, invalid_manifest(
                day, key, source, (ReasonCode.REPUBLISH_IN_PROGRESS.value,),
                "a republish is replacing the dump; its manifest follows", started=started))
            in_progress_written = True
        writer.complete()
    except BaseException as exc:  # SIGTERM from Airflow (AirflowTaskTerminated) included
        if writer is not None:
            try:
                writer.abort()
            except Exception:
                log.exception("could not abort the multipart upload of %s (S3's lifecycle rule cleans it up)", key)
        if _protected(previous) and not in_progress_written:
            log.error("publish of %s failed; the existing manifest and dump are left as they were", day)
        else:
            detail = f"{type(exc).__name__}: {exc}"[:2000]
            try:
                write_manifest(bucket, invalid_manifest(
                    day, key, source, (ReasonCode.PUBLISH_FAILED.value,), detail, source_valid=source_valid,
                    started=started))
            except Exception:
                log.exception("could not write the invalid manifest of %s", day)
        raise
    counts = {t: result.tables[t] for t in TABLE_NAMES}
    manifest = manifest_mod.Manifest(
        dump_date=day, dump_key=key, dump_bytes=writer.bytes_written, dump_sha256=writer.hexdigest(),
        source=source, source_valid=True, valid_for_etl=True, reason_codes=(), table_row_counts=counts,
        dump_started_at=started, dump_finished_at=finished, published_at=_utc_now(),
    )
    write_manifest(bucket, manifest)
    log.info("published s3://%s/%s (%d bytes, %d tables, text %d bytes) and its manifest", bucket.name, key,
             manifest.dump_bytes, len(result.tables), result.text_bytes)
    return manifest


def quarantine_day(bucket: Bucket, day: date, reason: str, secret_id: str) -> manifest_mod.Manifest:
    """An invalid manifest for `day` (MANUAL_QUARANTINE, the reason as detail). A dump already
    there is kept as evidence and described (key, size, and sha256: the old manifest's when it
    still matches the object's size, else read from the object); nothing is deleted."""
    if not reason.strip():
        raise ValueError("a quarantine needs a reason (it is what the next operator reads)")
    previous = read_manifest(bucket, day)
    key, size, sha = bucket.dump_key(day), 0, EMPTY_SHA256
    source = previous.source if previous else manifest_mod.Source("", "", secret_id)
    candidates = ([previous.dump_key] if previous else []) + [bucket.dump_key(day), bucket.dump_key(day, True)]
    for candidate in candidates:
        try:
            head = bucket.s3.head_object(Bucket=bucket.name, Key=candidate)
        except Exception:
            continue
        key, size = candidate, int(head["ContentLength"])
        if previous and previous.dump_key == candidate and previous.dump_bytes == size:
            sha = previous.dump_sha256
        else:
            sha = _object_sha256(bucket, candidate)
        break
    reasons = (ReasonCode.MANUAL_QUARANTINE.value,) + tuple(
        r for r in (previous.reason_codes if previous else ()) if r != ReasonCode.MANUAL_QUARANTINE.value)
    manifest = invalid_manifest(day, key, source, reasons, reason.strip(), source_valid=bool(
        previous and previous.source_valid), dump_bytes=size, dump_sha256=sha,
        started=previous.dump_started_at if previous else None)
    write_manifest(bucket, manifest)
    return manifest


def _object_sha256(bucket: Bucket, key: str) -> str:
    digest = hashlib.sha256()
    body = bucket.s3.get_object(Bucket=bucket.name, Key=key)["Body"]
    try:
        for chunk in iter(lambda: body.read(8 * 1024 * 1024), b""):
            digest.update(chunk)
    finally:
        body.close()
    return digest.hexdigest()


# --- the DAG's task --------------------------------------------------------------------------

def publish_task(**context: Any) -> dict[str, Any]:
    """gghouse_dump_publish's task: frozen → skipped with a notice; else publish the run's day."""
    from airflow.exceptions import AirflowSkipException

    from tokyobeta import settings
    from tokyobeta.dates import dump_date_for
    from tokyobeta.io import aws
    from tokyobeta.ops import alerts

    cfg = settings.for_task(context)
    day = dump_date_for(context)
    try:
        check_not_frozen(cfg.publish_frozen)
    except PublishFrozen as exc:
        log.warning("%s", exc)
        alerts.notify(context, f"publishing frozen: dump of {day} not published", str(exc), severity="WARNING")
        raise AirflowSkipException(str(exc)) from None
    params = context.get("params") or {}
    conf = (context["dag_run"].conf if context.get("dag_run") is not None else None) or {}
    gzip = _flag(conf.get("gzip", params.get("gzip")))
    replace = _flag(conf.get("replace", params.get("replace")))
    bucket = Bucket.of(cfg, aws.s3(cfg.aws_conn_id))
    try:
        manifest = publish(bucket, aws.secretsmanager(cfg.aws_conn_id), cfg.source_secret_id, day, gzip=gzip,
                           replace=replace, on_table=lambda t, n: log.info("dumped %s: %d rows", t, n))
    except PublishRefused as exc:
        from airflow.exceptions import AirflowFailException

        raise AirflowFailException(str(exc)) from None  # retrying cannot change an operator's decision
    return {"dump_key": manifest.dump_key, "dump_bytes": manifest.dump_bytes, "dump_sha256": manifest.dump_sha256,
            "table_row_counts": dict(manifest.table_row_counts)}


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() in {"1", "true", "yes", "on"}
    return bool(value)
