"""`tokyobeta`: the operator's command, a thin face over the same functions the DAGs call."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable, Sequence

from tokyobeta import settings
from tokyobeta.dates import parse_date

Handler = Callable[[argparse.Namespace], int]
COMMANDS: dict[str, tuple[Handler, str, tuple[tuple[tuple[str, ...], dict[str, Any]], ...]]] = {}


def arg(*flags: str, **kwargs: Any) -> tuple[tuple[str, ...], dict[str, Any]]:
    return flags, kwargs


def command(name: str, help_text: str, *arguments: tuple[tuple[str, ...], dict[str, Any]]) -> Callable:
    def register(fn: Handler) -> Handler:
        COMMANDS[name] = (fn, help_text, arguments)
        return fn
    return register


def _date(raw: str):
    try:
        return parse_date(raw, "--date")
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _aws(service: str) -> Any:
    from tokyobeta.io import aws

    return aws.client(service, settings.from_env().aws_conn_id)


def _admin_connection(database: str | None = None):
    """The source system's own connection: local sample building only (env MYSQL_ADMIN_*)."""
    from tokyobeta.io import mysql

    return mysql.connect(params={
        "host": os.environ.get("MYSQL_HOST", "127.0.0.1"), "port": int(os.environ.get("MYSQL_PORT", "3306")),
        "user": os.environ.get("MYSQL_ADMIN_USER", "root"), "password": os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
    }, database=database)


@command("settings", "print every setting, its default and where it is read",
         arg("--markdown", action="store_true", help="print README's configuration table"))
def cmd_settings(args: argparse.Namespace) -> int:
    if args.markdown:
        print(settings.markdown_table())
    else:
        cfg = settings.from_env()
        for row in settings.describe():
            print(f"{row['name']:32} = {cfg.get(row['name'])!s:40} ({row['where']})")
    return 0


@command("local-aws-init", "create the local (moto) bucket, alert topic + inbox queue and source secret")
def cmd_local_aws_init(args: argparse.Namespace) -> int:
    from tokyobeta.ops import localstack

    cfg = settings.from_env()
    env = os.environ
    localstack.ensure_bucket(_aws("s3"), cfg.dump_bucket, env["AWS_DEFAULT_REGION"])
    topic_arn, queue_url = localstack.ensure_alert_inbox(_aws("sns"), _aws("sqs"), env["ALERT_TOPIC_NAME"],
                                                         env["ALERT_QUEUE_NAME"])
    localstack.ensure_secret(_aws("secretsmanager"), cfg.source_secret_id, {
        "host": env["MYSQL_HOST"], "port": int(env["MYSQL_PORT"]), "dbname": env["SOURCE_DATABASE"],
        "username": env["SOURCE_DB_USER"], "password": env["SOURCE_DB_PASSWORD"]})
    if env.get("AWS_DATA_PATH"):
        localstack.write_query_protocol_model(Path(env["AWS_DATA_PATH"]))
    print(f"bucket s3://{cfg.dump_bucket}, topic {topic_arn}, inbox {queue_url}, secret {cfg.source_secret_id}")
    return 0


@command("dbt-manifest", "build include/dbt/target/manifest.json when the dbt project changed",
         arg("--force", action="store_true"))
def cmd_dbt_manifest(args: argparse.Namespace) -> int:
    from tokyobeta.transform import dbt_project

    cfg = settings.from_env()
    ran = dbt_project.build_manifest(cfg.dbt_project_path, cfg.dbt_executable_path, force=args.force)
    print(f"dbt manifest {'rebuilt' if ran else 'up to date'}: {dbt_project.manifest_path(cfg.dbt_project_path)}")
    return 0


@command("dbt-docs", "generate the dbt docs site into include/dbt/target (index.html, manifest, catalog)",
         arg("--empty-catalog", action="store_true", help="without a warehouse: no column types or row counts"))
def cmd_dbt_docs(args: argparse.Namespace) -> int:
    from tokyobeta.transform import dbt_project

    cfg = settings.from_env()
    index = dbt_project.generate_docs(cfg.dbt_project_path, cfg.dbt_executable_path, empty_catalog=args.empty_catalog)
    print(f"dbt docs generated: {index}")
    return 0


@command("sample-source", "build the realistic gghouse source database in local MariaDB",
         arg("--date", type=_date, required=True, help="the day the source is as of (YYYY-MM-DD)"),
         arg("--scale", type=float, default=1.0, help="1.0 = about 12k tenant-rooms, 131k contract rows"),
         arg("--seed", type=int, default=42),
         arg("--other-mb", type=float, default=None, help="size of the non-contract tables"),
         arg("--database", default=None, help="default: $SOURCE_DATABASE"))
def cmd_sample_source(args: argparse.Namespace) -> int:
    from tokyobeta.sample.source import build_sample_source

    database = args.database or os.environ.get("SOURCE_DATABASE", "gghouse")
    started = time.monotonic()
    conn = _admin_connection()
    try:
        counts = build_sample_source(conn, database, args.date, scale=args.scale, seed=args.seed,
                                     other_mb=args.other_mb)
    finally:
        conn.close()
    print(f"sample source {database} as of {args.date} (scale {args.scale}, seed {args.seed}) "
          f"built in {time.monotonic() - started:.1f} s:")
    for table, rows in counts.items():
        print(f"  {table:24} {rows:>10,}")
    return 0


@command("publish-dump", "dump the source (consistent snapshot, Python writer) to S3, then write its manifest "
                         "(exit 0 published, 1 failed: an invalid manifest says why, 3 refused: frozen or already published)",
         arg("--date", type=_date, required=True),
         arg("--gzip", action="store_true", help="publish gghouse_YYYYMMDD.sql.gz"),
         arg("--replace", action="store_true",
             help="republish a day that already has a valid (or hand-quarantined) manifest"),
         arg("--database", default=None, help="dump this database instead of the secret's dbname"))
def cmd_publish_dump(args: argparse.Namespace) -> int:
    from tokyobeta.ops import publish

    cfg = settings.from_env()
    try:
        publish.check_not_frozen(cfg.publish_frozen)
    except publish.PublishFrozen as exc:
        print(f"tokyobeta publish-dump: {exc}", file=sys.stderr)
        return 3
    bucket = publish.Bucket.of(cfg, _aws("s3"))
    started = time.monotonic()
    try:
        manifest = publish.publish(bucket, _aws("secretsmanager"), cfg.source_secret_id, args.date, gzip=args.gzip,
                                   replace=args.replace, database=args.database)
    except publish.PublishRefused as exc:
        print(f"tokyobeta publish-dump: {exc}", file=sys.stderr)
        return 3
    except Exception as exc:
        print(f"tokyobeta publish-dump: publishing {args.date} failed ({type(exc).__name__}: {exc}); no valid "
              f"manifest was written", file=sys.stderr)
        return 1
    print(f"published s3://{cfg.dump_bucket}/{manifest.dump_key} ({manifest.dump_bytes / 1e6:.1f} MB, "
          f"sha256 {manifest.dump_sha256[:12]}…) and its manifest in {time.monotonic() - started:.1f} s; "
          f"rows: {json.dumps(dict(manifest.table_row_counts))}")
    return 0


@command("quarantine-day", "publish an invalid manifest for a day by hand (MANUAL_QUARANTINE); the daily DAG "
                           "then skips it. A dump already there is kept as evidence",
         arg("--date", type=_date, required=True),
         arg("--reason", required=True, help="why (recorded in the manifest's detail; the next operator reads it)"))
def cmd_quarantine_day(args: argparse.Namespace) -> int:
    from tokyobeta.ops import publish

    cfg = settings.from_env()
    bucket = publish.Bucket.of(cfg, _aws("s3"))
    try:
        manifest = publish.quarantine_day(bucket, args.date, args.reason, cfg.source_secret_id)
    except ValueError as exc:
        print(f"tokyobeta quarantine-day: {exc}", file=sys.stderr)
        return 1
    kept = (f"the dump s3://{cfg.dump_bucket}/{manifest.dump_key} ({manifest.dump_bytes:,} bytes) is kept as evidence"
            if manifest.dump_bytes else "there is no dump for that day")
    print(f"quarantined {args.date}: s3://{cfg.dump_bucket}/{bucket.manifest_key(args.date)} now says "
          f"valid_for_etl=false, reasons {', '.join(manifest.reason_codes)}, reason {manifest.detail!r}; {kept}. "
          f"The daily DAG skips this day; to undo, republish it: tokyobeta publish-dump --date {args.date} --replace")
    return 0


@command("load-dump", "load one dump day into staging the way the daily DAG does (exit 0 loaded, 1 failed, "
                      "2 quarantined or missing)",
         arg("--date", type=_date, default=None, help="the dump day to load from the bucket (YYYY-MM-DD)"),
         arg("--file", default=None, help="a local dump file (plain or .gz) instead of the bucket; '-' reads stdin"),
         arg("--manifest", default=None, help="the local manifest JSON of --file"),
         arg("--dry-run", action="store_true", help="stream and verify everything, but do not swap staging"))
def cmd_load_dump(args: argparse.Namespace) -> int:
    from tokyobeta.ingest import operator

    if bool(args.file) != bool(args.manifest) or not (args.date or args.file):
        print("tokyobeta load-dump: give --date YYYY-MM-DD (from the bucket), or --file PATH --manifest PATH",
              file=sys.stderr)
        return operator.FAILED
    return operator.load_dump(settings.from_env(), day=args.date, dump_file=args.file and (
        "/dev/stdin" if args.file == "-" else args.file), manifest_file=args.manifest, dry_run=args.dry_run)


@command("restore-staging", "swap the staging_backup copy of a dump day back into staging",
         arg("--date", type=_date, required=True, help="the dump day whose backup to restore (YYYY-MM-DD)"))
def cmd_restore_staging(args: argparse.Namespace) -> int:
    from tokyobeta.ingest import operator

    return operator.restore_staging(settings.from_env(), args.date)


@command("alerts", "print (and remove) the alerts waiting in the local inbox queue",
         arg("--wait", type=int, default=0, help="seconds to wait for the first alert"),
         arg("--verbose", "-v", action="store_true"))
def cmd_alerts(args: argparse.Namespace) -> int:
    from tokyobeta.ops import localstack

    sqs = _aws("sqs")
    queue_url = sqs.get_queue_url(QueueName=os.environ["ALERT_QUEUE_NAME"])["QueueUrl"]
    messages = localstack.drain(sqs, queue_url, wait_seconds=args.wait)
    print(f"{len(messages)} alert(s) received:")
    for envelope in messages:
        attrs = {k: v.get("Value") for k, v in (envelope.get("MessageAttributes") or {}).items()}
        print(f"  [{attrs.get('severity', '?')}] {envelope.get('Subject')}")
        if args.verbose:
            print("    " + envelope.get("Message", "").replace("\n", "\n    "))
    return 0


@command("summary", "print what landed: rows per layer and the latest occupancy figures")
def cmd_summary(args: argparse.Namespace) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.ops import report

    cfg = settings.from_env()
    with mysql.connection(cfg.mysql_conn_id) as conn:
        print(report.render(report.collect(conn, cfg.schemas())))
    return 0


def _month(raw: str):
    try:
        return parse_date(f"{raw}-01", "--month")
    except ValueError:
        raise argparse.ArgumentTypeError(f"--month {raw!r} is not a month: use YYYY-MM, e.g. 2026-03") from None


@command("kpi", "move-ins and move-outs of a month (total, by day, by contract type) with the as-of snapshot",
         arg("--month", type=_month, required=True, help="YYYY-MM"),
         arg("--json", action="store_true", help="print the report as JSON"))
def cmd_kpi(args: argparse.Namespace) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.transform import kpi

    cfg = settings.from_env()
    with mysql.connection(cfg.mysql_conn_id) as conn:
        report = kpi.month_report(conn, cfg.schemas(), cfg.include_path, args.month)
    print(json.dumps(report, ensure_ascii=False, indent=2) if args.json else kpi.render_month_report(report))
    return 0


def _report_time(raw: str):
    from datetime import datetime

    try:
        return datetime.strptime(raw.strip().replace("T", " "), "%Y-%m-%d %H:%M")
    except ValueError:
        raise argparse.ArgumentTypeError(f"--as-of-report {raw!r} is not a time: use 'YYYY-MM-DD HH:MM' (JST), "
                                         "e.g. '2026-03-02 18:00'") from None


@command("reconcile", "our move-ins and move-outs of a month vs an outside report (CSV), the difference explained "
         "by cause (exit 0 reconciled, even with a remainder; 2 bad input; 1 failed)",
         arg("--month", type=_month, required=True, help="YYYY-MM"),
         arg("--external", required=True, help="the operator's report: a CSV of move-ins / move-outs per day or month"),
         arg("--as-of-report", type=_report_time, default=None,
             help="when the report was made, 'YYYY-MM-DD HH:MM' JST (enables the snapshot-lag cause)"),
         arg("--json", action="store_true", help="print the reconciliation as JSON"))
def cmd_reconcile(args: argparse.Namespace) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.transform import external_report, reconcile

    try:
        report = external_report.read(args.external)
    except external_report.ReportError as exc:
        print(f"tokyobeta reconcile: {exc}", file=sys.stderr)
        return 2
    cfg = settings.from_env()
    try:
        with mysql.connection(cfg.mysql_conn_id) as conn:
            result = reconcile.reconcile(conn, cfg.schemas(), cfg.include_path, args.month, report, args.as_of_report)
    except external_report.ReportError as exc:
        print(f"tokyobeta reconcile: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - one line for the operator, exit 1 (not a traceback)
        print(f"tokyobeta reconcile: failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2) if args.json else reconcile.render(result))
    return 0


@command("lineage", "where a dump day's gold came from: dump -> manifest verdict -> load -> silver/gold "
         "publication -> KPI upsert -> archive, with S3 keys, versions and run ids (exit 0 complete, "
         "1 a link is missing, 2 bad input)",
         arg("--date", type=_date, required=True, help="the dump day, YYYY-MM-DD"),
         arg("--table", default=None, help="narrow to one gold table, e.g. gold.daily_activity_summary"),
         arg("--json", action="store_true", help="print the chain as JSON"),
         arg("--openlineage", action="store_true",
             help="also send the chain as OpenLineage events (the client's own configuration: OPENLINEAGE_URL, ...)"))
def cmd_lineage(args: argparse.Namespace) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.ops import lineage

    cfg = settings.from_env()
    table = None
    if args.table is not None:
        try:
            table = lineage.parse_table(args.table, list(lineage.gold_day_columns(cfg.include_path)))
        except lineage.LineageError as exc:
            print(f"tokyobeta lineage: {exc}", file=sys.stderr)
            return 2
    with mysql.connection(cfg.mysql_conn_id) as conn:
        chain = lineage.collect(conn, cfg, args.date, table)
    print(json.dumps(lineage.as_json(chain), ensure_ascii=False, indent=2) if args.json else lineage.render(chain))
    if args.openlineage:
        print(f"sent {lineage.emit_openlineage(chain)} OpenLineage event(s)", file=sys.stderr)
    return 0 if chain.complete else 1


@command("run-day", "run tokyobeta_daily_etl for one dump day in this process (like `airflow dags test`)",
         arg("--date", type=_date, required=True),
         arg("--dag", default="tokyobeta_daily_etl"),
         arg("--conf", type=json.loads, default=None, help="extra run conf as JSON"))
def cmd_run_day(args: argparse.Namespace) -> int:
    from tokyobeta.ops import rundag

    started = time.monotonic()
    state, tasks = rundag.run_day(args.dag, args.date, args.conf)
    print(f"{args.dag} for {args.date}: {state} in {time.monotonic() - started:.1f} s")
    for task_id, task_state in tasks:
        print(f"  {task_state:10} {task_id}")
    return 0 if state == "success" else 1


@command("run-dag", "run any DAG once in this process: at its slot on --date, or now",
         arg("--dag", required=True, help="e.g. tokyobeta_freshness, tokyobeta_alert_drill"),
         arg("--date", type=_date, default=None, help="run at the DAG's scheduled slot (JST) of this day"),
         arg("--expect", choices=["success", "failed"], default="success",
             help="the run state that makes the command succeed (the alert drill fails on purpose)"))
def cmd_run_dag(args: argparse.Namespace) -> int:
    from datetime import datetime, timezone

    from tokyobeta.ops import rundag

    dag = rundag.load_dag(args.dag)
    if args.date is None:
        logical = datetime.now(timezone.utc).replace(microsecond=0)
    elif dag.timetable.periodic:
        logical = rundag.logical_date_for(args.date, dag.timetable.summary)
    else:
        print(f"tokyobeta run-dag: {args.dag} has no schedule; leave out --date", file=sys.stderr)
        return 2
    started = time.monotonic()
    state, tasks = rundag.run_dag(args.dag, logical)
    print(f"{args.dag} at {logical.isoformat()}: {state} in {time.monotonic() - started:.1f} s"
          + (" (as expected)" if state == args.expect != "success" else ""))
    for task_id, task_state in tasks:
        print(f"  {task_state:10} {task_id}")
    return 0 if state == args.expect else 1


@command("metrics", "print the newest value of every metric in the CloudWatch namespace",
         arg("--namespace", default=None, help="default: METRICS_NAMESPACE"),
         arg("--since", type=_date, default=None, help="oldest day to look at (default: 14 days ago)"))
def cmd_metrics(args: argparse.Namespace) -> int:
    from datetime import datetime, timedelta, timezone

    from tokyobeta.ops import metrics

    namespace = args.namespace or settings.from_env().metrics_namespace
    since = (datetime.combine(args.since, datetime.min.time(), tzinfo=timezone.utc) - timedelta(days=1)
             if args.since else datetime.now(timezone.utc) - timedelta(days=14))
    rows = metrics.newest_values(_aws("cloudwatch"), namespace, since)
    print(f"{len(rows)} metric(s) in {namespace}:")
    for name, dims, stamp, value in rows:
        label = name + "".join(f" {k}={v}" for k, v in dims)
        print(f"  {label:58} {value:>10.3f}  (newest period, from {stamp:%Y-%m-%d %H:%M %Z})")
    return 0


@command("reset-local-warehouse", "drop and recreate the local staging/silver/gold/ops schemas (demo, local stack only)",
         arg("--yes", action="store_true", required=True, help="confirm"))
def cmd_reset_local_warehouse(args: argparse.Namespace) -> int:
    from tokyobeta.ops import localstack

    localstack.require_local(_aws("s3"))  # a laptop pointed at a real account must not get here
    cfg = settings.from_env()
    conn = _admin_connection()
    try:
        with conn.cursor() as cur:
            for name in ("staging", "staging_backup", "silver", "gold", "silver_candidate", "gold_candidate", "ops"):
                cur.execute(f"DROP DATABASE IF EXISTS `{cfg.schema(name)}`")
                cur.execute(f"CREATE DATABASE `{cfg.schema(name)}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    finally:
        conn.close()
    print(f"local warehouse schemas reset (prefix {cfg.schema_prefix!r})")
    return 0


def _repo_root():
    from pathlib import Path

    return Path(os.environ.get("TOKYOBETA_ROOT") or Path(__file__).resolve().parents[2])


@command("package", "build the MWAA release bundle dist/tokyobeta-<commit>/ (DAGs, include, plugins.zip, "
         "requirements.txt, startup.sh, dbt docs, SHA256SUMS)",
         arg("--out", default=None, help="folder the bundle goes in (default: dist/ of the repository)"),
         arg("--private-network", action="store_true",
             help="the variant for an MWAA environment without internet: wheels in plugins.zip, no index"),
         arg("--wheelhouse", default=None, help="folder of prebuilt wheels (default: the PRIVATE_WHEELHOUSE setting)"))
def cmd_package(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tokyobeta.ops import release

    repo = _repo_root()
    commit = release.git_commit(repo)
    started = time.monotonic()
    # The bundle describes production: its dbt manifest and docs carry the unprefixed schemas.
    cfg = settings.from_env()
    wheelhouse = args.wheelhouse or cfg.private_wheelhouse
    # Downloads are kept beside the local stack, so packaging again fetches nothing.
    cache = Path(os.environ.get("TOKYOBETA_LOCAL") or repo / ".local") / "wheels-cp312-manylinux"
    try:
        bundle = release.build_bundle(repo, Path(args.out) if args.out else repo / "dist", commit,
                                      cfg.dbt_executable_path, dbt_env={"SCHEMA_PREFIX": ""},
                                      private_network=args.private_network, wheel_cache=cache,
                                      wheelhouse=Path(wheelhouse) if wheelhouse else None)
    except release.ReleaseError as exc:
        print(f"tokyobeta package: {exc}", file=sys.stderr)
        return 1
    sums = release.read_checksums(bundle)
    size = sum((bundle / name).stat().st_size for name in sums)
    print(f"release bundle {bundle} ({'private' if args.private_network else 'public'} network, {len(sums)} files, "
          f"{size / 1e6:.1f} MB, plugins.zip {(bundle / 'plugins.zip').stat().st_size / 1e6:.1f} MB, "
          f"{time.monotonic() - started:.1f} s)")
    if commit.dirty:
        print("  built from uncommitted changes: `tokyobeta deploy` will refuse it", file=sys.stderr)
    return 0


@command("deploy", "upload a release bundle to an immutable S3 prefix, point the MWAA environment at it, wait "
         "until it is AVAILABLE and run tokyobeta_verify_env in it",
         arg("--bucket", required=True, help="the environment's source bucket (versioned)"),
         arg("--env", dest="environment", default=None, help="the MWAA environment name (not with --upload-only)"),
         arg("--bundle", default=None, help="default: dist/tokyobeta-<HEAD commit>"),
         arg("--upload-only", action="store_true",
             help="first-time setup: upload the release and print the mwaa-environment stack parameters; no MWAA call"),
         arg("--release", default=None, metavar="ID",
             help="rollback: point --env at the release ID already under RELEASE_PREFIX (upload nothing), "
                  "then wait and verify as usual"),
         arg("--no-verify", action="store_true", help="wait for AVAILABLE but do not trigger tokyobeta_verify_env"),
         arg("--verify-only", action="store_true",
             help="upload and change nothing: run tokyobeta_verify_env in --env (after the environment stack "
                  "created it, or a rollback)"),
         arg("--wait-minutes", type=float, default=None, help="default: DEPLOY_WAIT_MINUTES"),
         arg("--verify-minutes", type=float, default=None, help="default: DEPLOY_VERIFY_MINUTES"),
         arg("--poll-seconds", type=float, default=None, help="default: DEPLOY_POLL_SECONDS"))
def cmd_deploy(args: argparse.Namespace) -> int:
    from pathlib import Path

    from tokyobeta.io.airflow_api import ApiUnreachable, MwaaRestApi
    from tokyobeta.ops import deploy, release

    cfg = settings.from_env()
    repo = _repo_root()
    if args.upload_only == bool(args.environment) or (args.upload_only and args.release):
        print("tokyobeta deploy: give --env NAME (deploy to an environment) or --upload-only (none exists yet)",
              file=sys.stderr)
        return 2
    interval = args.poll_seconds if args.poll_seconds is not None else cfg.deploy_poll_seconds
    wait_minutes = args.wait_minutes if args.wait_minutes is not None else cfg.deploy_wait_minutes
    verify_minutes = args.verify_minutes if args.verify_minutes is not None else cfg.deploy_verify_minutes

    def say(line: str) -> None:
        print(line, flush=True)

    def verify(mwaa: Any, label: str) -> int:
        run = deploy.run_verify(MwaaRestApi(mwaa, args.environment), run_id=deploy.verify_run_id(label),
                                timeout=verify_minutes * 60, interval=interval, say=say)
        print(deploy.render_verify(run, args.environment))
        if not run.ok:
            print(f"tokyobeta deploy: FAILED: {deploy.VERIFY_DAG_ID} ended {run.state}; failed: "
                  f"{', '.join(t.task_id for t in run.failed_tasks()) or '(no task failed: see the run)'}",
                  file=sys.stderr)
            return 1
        return 0

    if args.verify_only:
        try:
            deploy.check_account(_aws("sts"), cfg.deploy_account_id)
            return verify(_aws("mwaa"), "verify-only")
        except deploy.DeployRefused as exc:
            print(f"tokyobeta deploy: refused: {exc}", file=sys.stderr)
            return 1
        except (deploy.DeployFailed, ApiUnreachable) as exc:
            print(f"tokyobeta deploy: FAILED: {exc}", file=sys.stderr)
            return 1
    bundle = Path(args.bundle) if args.bundle else repo / "dist" / f"tokyobeta-{release.git_commit(repo).release_id}"
    mwaa = None if args.upload_only else _aws("mwaa")
    try:
        if args.release:
            done = deploy.redeploy(args.release, s3=_aws("s3"), sts=_aws("sts"), mwaa=mwaa, bucket=args.bucket,
                                   environment=args.environment, account_id=cfg.deploy_account_id,
                                   releases_prefix=cfg.release_prefix, aws_conn_id=cfg.aws_conn_id)
        elif args.upload_only:
            done = deploy.upload_only(bundle, s3=_aws("s3"), sts=_aws("sts"), bucket=args.bucket,
                                      account_id=cfg.deploy_account_id, releases_prefix=cfg.release_prefix)
        else:
            done = deploy.deploy(bundle, s3=_aws("s3"), sts=_aws("sts"), mwaa=mwaa, bucket=args.bucket,
                                 environment=args.environment, account_id=cfg.deploy_account_id,
                                 releases_prefix=cfg.release_prefix, aws_conn_id=cfg.aws_conn_id)
    except (deploy.DeployRefused, release.ReleaseError) as exc:
        print(f"tokyobeta deploy: refused: {exc}", file=sys.stderr)
        return 1
    print(f"release {done.release}: " + (f"{done.uploaded} files in " if done.uploaded else "already in ")
          + f"s3://{done.bucket}/{done.prefix}" + (f"; environment {done.environment} updated" if done.environment else ""))
    for name, version in sorted(done.object_versions.items()):
        if name in deploy.VERSIONED_FILES:
            print(f"  {name:18} version {version}")
    overrides = " ".join(f"{k}={v}" for k, v in done.stack_parameters().items())
    print(f"deploy/mwaa-environment.yaml parameters of this release: {overrides}")
    if args.upload_only:
        return 0
    try:
        say(f"waiting for {done.environment} to be AVAILABLE (up to {wait_minutes:g} min, every {interval:g} s)")
        waited = deploy.wait_until_available(mwaa, done.environment, requested_at=done.requested_at,
                                             timeout=wait_minutes * 60, interval=interval, say=say)
        say(f"{done.environment} is AVAILABLE on release {done.release} after {deploy.duration(waited.seconds)}")
        if args.no_verify:
            say(f"not verified (--no-verify): trigger {deploy.VERIFY_DAG_ID} before trusting this environment")
            return 0
        return verify(mwaa, done.release)
    except (deploy.DeployFailed, ApiUnreachable) as exc:
        print(f"tokyobeta deploy: FAILED: {exc}", file=sys.stderr)
        return 1


def _flag_date(flag: str) -> Callable[[str], Any]:
    def parse(raw: str):
        try:
            return parse_date(raw, flag)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


@command("backfill", "reprocess missed dump days: one daily-DAG run per valid day, quarantined and missing "
         "days skipped, no duplicate runs (exit 1 if a trigger or clear failed, 2 if refused)",
         arg("--start", type=_flag_date("--start"), required=True, help="first dump day (YYYY-MM-DD)"),
         arg("--end", type=_flag_date("--end"), required=True, help="last dump day, inclusive (YYYY-MM-DD)"),
         arg("--dry-run", action="store_true", help="decide and print, trigger nothing"),
         arg("--json", action="store_true", help="print a JSON document instead of the table"),
         arg("--rerun-failed", action="store_true", help="clear the failed tasks of a day's failed run"),
         arg("--target", choices=["local", "mwaa"], default="local",
             help="local: the webserver at AIRFLOW_API_URL; mwaa: invoke_rest_api on --mwaa-env"),
         arg("--mwaa-env", default=None, help="MWAA environment name (default: MWAA_ENVIRONMENT)"))
def cmd_backfill(args: argparse.Namespace) -> int:
    from tokyobeta.io import mysql
    from tokyobeta.io.airflow_api import ApiUnreachable
    from tokyobeta.ops import backfill

    cfg = settings.from_env()
    try:
        days = backfill.validate_window(args.start, args.end)
        if args.mwaa_env and args.target != "mwaa":
            raise backfill.BackfillInputError("--mwaa-env is for --target mwaa (the default target is local)")
        if args.target == "mwaa":
            api = backfill.mwaa_api(_aws("sts"), _aws("mwaa"), args.mwaa_env or cfg.mwaa_environment,
                                    cfg.deploy_account_id)
        else:
            api = backfill.local_api(cfg.airflow_api_url or os.environ.get("AIRFLOW__WEBSERVER__BASE_URL", ""),
                                     cfg.airflow_api_user, os.environ.get("AIRFLOW_API_PASSWORD"))
        manifests = backfill.read_manifests(cfg, _aws("s3"), _aws("secretsmanager"), days)
        with mysql.connection(cfg.mysql_conn_id) as conn:
            history = backfill.read_history(conn, cfg.schema("ops"), days[0], days[-1])
        report = backfill.run_backfill(api, target=args.target, dag_id=backfill.DAG_ID, cron=cfg.daily_schedule,
                                       days=days, manifests=manifests, history=history, dry_run=args.dry_run,
                                       rerun_failed=args.rerun_failed)
    except backfill.BackfillInputError as exc:
        print(f"tokyobeta backfill: {exc}", file=sys.stderr)
        return 2
    except backfill.BackfillRefused as exc:
        print(f"tokyobeta backfill: refused, nothing was triggered: {exc}", file=sys.stderr)
        return 2
    except ApiUnreachable as exc:
        print(f"tokyobeta backfill: nothing was triggered: {exc}", file=sys.stderr)
        return 2
    print(backfill.to_json(report) if args.json else backfill.render(report))
    return report.exit_code


@command("verify-env", "post-deploy conformance check: DAGs import, dbt runs, connections resolve, "
         "bucket and SNS topic reachable",
         arg("--dags", default=None, help="DAG folder (default: Airflow's core.dags_folder)"))
def cmd_verify_env(args: argparse.Namespace) -> int:
    from airflow.configuration import conf

    from tokyobeta.ops import verify

    logging.getLogger("cosmos").setLevel(logging.WARNING)  # its parse chatter would bury the report
    checks = verify.run_all(settings.from_env(), args.dags or conf.get("core", "dags_folder"))
    print(verify.report(checks))
    return 0 if all(c.ok for c in checks) else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tokyobeta", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (_, help_text, arguments) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        for flags, kwargs in arguments:
            p.add_argument(*flags, **kwargs)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command != "run-day":  # task logs of a run are wanted; a hook's chatter is not
        logging.getLogger().setLevel(logging.WARNING)
        logging.getLogger("airflow").setLevel(logging.WARNING)
    fn, _, _ = COMMANDS[args.command]
    try:
        return fn(args)
    except settings.SettingError as exc:
        print(f"tokyobeta {args.command}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
