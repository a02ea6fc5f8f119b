"""What `tokyobeta load-dump` and `tokyobeta restore-staging` do: the daily DAG's own path
(tokyobeta.ingest.day), run from a terminal, with a progress line, a summary and exit codes
an operator's script can branch on."""

from __future__ import annotations

import getpass
import logging
import os
import socket
import sys
import time
from datetime import date, datetime, timezone
from typing import Any, TextIO

from tokyobeta import settings
from tokyobeta.ingest import day as ingest_day
from tokyobeta.ingest.manifest import Status, Verdict
from tokyobeta.ingest.staging import Loader, Progress

LOADED, FAILED, NOT_LOADABLE = 0, 1, 2


def run_id() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # a container user without a passwd entry
        user = str(os.getuid())
    return f"manual__cli__{user}@{socket.gethostname()}__{datetime.now(timezone.utc):%Y-%m-%dT%H:%M:%SZ}"


class ProgressLine:
    """One line rewritten in place on a terminal: MB read, MB/s, rows loaded, the contract
    table last seen."""

    def __init__(self, total_bytes: int, out: TextIO, interval: float = 0.2):
        self.total = total_bytes
        self.out = out
        self.interval = interval
        self.started = time.monotonic()
        self._last = 0.0
        self._width = 0
        self._table = "-"

    def __call__(self, progress: Progress) -> None:
        self._table = progress.table or self._table
        now = time.monotonic()
        if now - self._last < self.interval:
            return
        self._last = now
        elapsed = max(now - self.started, 1e-6)
        mb = progress.bytes_read / 1e6
        share = f"{100 * progress.bytes_read / self.total:3.0f}% " if self.total else ""
        line = (f"{share}{mb:8.1f} / {self.total / 1e6:.1f} MB  {mb / elapsed:7.1f} MB/s  "
                f"rows {sum(progress.row_counts.values()):>9,}  table {self._table}")
        self._width = max(self._width, len(line))
        self.out.write("\r" + line.ljust(self._width))
        self.out.flush()

    def done(self) -> None:
        if self._width:
            self.out.write("\n")
            self.out.flush()


def _quiet_logs() -> None:
    """Airflow's logging (configured on import) writes INFO to stdout; the command prints its
    own verdict and summary there, so only errors may join them."""
    for name in ("tokyobeta", "airflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _notifier(run: str) -> ingest_day.Notify:
    def notify(subject: str, message: str, severity: str) -> None:
        from tokyobeta.ops import alerts

        try:
            alerts.notify({"params": {}, "dag_run": None, "run_id": run}, subject, message, severity=severity)
        except Exception as exc:  # the verdict is recorded either way; say so instead of failing the command
            print(f"warning: the alert could not be sent: {exc}", file=sys.stderr)
    return notify


def _print_verdict(verdict: Verdict, evidence: dict[str, str | None] | None, at: ingest_day.DumpAt, out: TextIO) -> None:
    word = "NOT LOADED (missing)" if verdict.status is Status.MISSING else "QUARANTINED"
    print(f"{word}: {', '.join(verdict.reasons) or '-'}\n  {verdict.detail}", file=out)
    for key in (evidence or {}).values():
        if key:
            print(f"  evidence: {at.url(key)}", file=out)
    print("  staging is untouched.", file=out)


def load_dump(cfg: settings.Settings, *, day: date | None, dump_file: str | None, manifest_file: str | None,
              dry_run: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """0 loaded (or verified, dry_run), 1 failed, 2 not loadable (quarantined or missing)."""
    from tokyobeta.io import mysql

    run = run_id()
    try:
        with mysql.connection(cfg.mysql_conn_id) as conn:
            _quiet_logs()
            return _load_dump(conn, cfg, run, day, dump_file, manifest_file, dry_run, out, err)
    except Exception as exc:
        print(f"FAILED: {type(exc).__name__}: {exc}\n  staging is untouched; attempts that got as far as "
              f"loading are in {cfg.schema('ops')}.load_history (run {run}).", file=out)
        return FAILED


def _load_dump(conn: Any, cfg: settings.Settings, run: str, day: date | None, dump_file: str | None,
               manifest_file: str | None, dry_run: bool, out: TextIO, err: TextIO) -> int:
    from tokyobeta.io import aws, mysql

    notify = None if dry_run else _notifier(run)
    s3 = None if dump_file else aws.s3(cfg.aws_conn_id)
    secrets = aws.secretsmanager(cfg.aws_conn_id)
    if dump_file:
        verdict, at = ingest_day.judge_local(cfg, secrets, day, dump_file, manifest_file)
    else:
        verdict, at = ingest_day.judge_in_bucket(cfg, s3, secrets, day)
    if not verdict.loadable:
        evidence = None if dry_run else ingest_day.quarantine(conn, cfg, verdict, at, run, notify)
        _print_verdict(verdict, evidence, at, out)
        return NOT_LOADABLE
    manifest = verdict.manifest
    obj = {"Body": open(at.dump, "rb", buffering=0)} if dump_file else s3.get_object(Bucket=at.bucket, Key=at.dump)
    body = obj["Body"]
    line = ProgressLine(manifest.dump_bytes, err) if err.isatty() else None
    try:
        outcome = ingest_day.load(conn, cfg, manifest, body, at, run, notify, dry_run=dry_run, progress=line,
                                  connect=lambda: mysql.connect(cfg.mysql_conn_id), version_id=obj.get("VersionId"))
    finally:
        body.close()
        if line:
            line.done()
    if outcome.status == "quarantined":
        _print_verdict(outcome.verdict, outcome.evidence, at, out)
        return NOT_LOADABLE
    result = outcome.result
    seconds = result.stream_seconds + result.swap_seconds
    rows = ", ".join(f"{t} {n:,}" for t, n in result.row_counts.items())
    verb = "VERIFIED (dry run, nothing swapped)" if dry_run else "LOADED"
    print(f"{verb}: {at.url(at.dump)} for {manifest.dump_date}, {result.bytes_read / 1e6:.1f} MB in {seconds:.1f} s "
          f"({result.bytes_read / 1e6 / max(seconds, 1e-6):.0f} MB/s)\n  rows: {rows}\n  sha256 {result.sha256}", file=out)
    if result.backups:
        print(f"  previous tables kept in {cfg.schema('staging_backup')}: {', '.join(result.backups)}", file=out)
    return LOADED


def restore_staging(cfg: settings.Settings, day: date, out: TextIO = sys.stdout) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.ops.history import History

    run = run_id()
    with mysql.connection(cfg.mysql_conn_id) as conn:
        _quiet_logs()
        loader = Loader(conn, cfg.schemas(), cfg.include_path, cfg.staging_backups_kept)
        started = datetime.now(timezone.utc)
        try:
            parked = loader.restore(day)
        except FileNotFoundError as exc:
            print(f"FAILED: {exc}", file=out)
            return FAILED
        info = loader.dump_info()
        History(conn, cfg.schemas(), cfg.include_path).record_restore(info, run, started, f"parked: {', '.join(parked)}")
    print(f"RESTORED: {cfg.schema('staging')} now holds the load of {day} ({info.get('dump_key')}); "
          f"the tables it replaced are in {cfg.schema('staging_backup')}: {', '.join(parked)}", file=out)
    return LOADED

