"""How fast the dump publisher (ops/publish.py + ops/sqldump.py) dumps a production-sized source
to S3 (moto), and its peak memory, against `mariadb-dump` writing the same database to
/dev/null (the C tool the legacy cron used; MWAA has none).

The source is the sample source with bench-load's production mix (scale 1 is about 1 GB of
dump text). Each publish runs in a child process (fresh interpreter, the CLI's code path) that
reports its own wall time and peak RSS (VmHWM), plain and gzip. `--against REV` also times the
publisher as it was at git revision REV (its plugins/ first on PYTHONPATH), interleaved with this
checkout's runs, so before and after share the machine's load (a shared 2-core machine is noisy:
compare within one run, as ratios to mariadb-dump).

Usage: make bench-publish  (BENCH_ARGS="--scale 0.25 --runs 1" for a quick look,
       BENCH_ARGS="--against main" to compare with main)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import load_dump  # noqa: E402  (same recipe, client helpers and VmHWM reader as bench-load)

DAY = date(2026, 3, 2)


def child(bucket: str, secret_id: str, gzip: bool) -> None:
    from tokyobeta import settings
    from tokyobeta.io import aws
    from tokyobeta.ops import publish

    cfg = settings.from_env()
    target = publish.Bucket.of(cfg, aws.s3(cfg.aws_conn_id), bucket)
    started = time.monotonic()
    manifest = publish.publish(target, aws.secretsmanager(cfg.aws_conn_id), secret_id, DAY, gzip=gzip, replace=True)
    seconds = time.monotonic() - started
    print(json.dumps({"seconds": seconds, "bytes": manifest.dump_bytes, "sha256": manifest.dump_sha256, "rows": sum(manifest.table_row_counts.values()),
                      "peak_rss_kb": load_dump.own_peak_rss_kb()}))


def run_child(bucket: str, secret_id: str, gzip: bool, plugins: str | None = None) -> dict:
    env = dict(os.environ)
    if plugins:  # ahead of the checkout's editable install
        env["PYTHONPATH"] = os.pathsep.join(p for p in (plugins, env.get("PYTHONPATH")) if p)
    out = subprocess.run([sys.executable, __file__, "--child", bucket, secret_id, "--gzip" if gzip else "--plain"],
                         check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def plugins_at(rev: str, into: str) -> str:
    """plugins/ as it is at git revision `rev`, extracted under `into`."""
    root = Path(__file__).resolve().parents[2]
    archive = subprocess.run(["git", "-C", str(root), "archive", rev, "plugins"], check=True, capture_output=True)
    subprocess.run(["tar", "-x", "-C", into], input=archive.stdout, check=True)
    return str(Path(into) / "plugins")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--child", nargs=2, metavar=("BUCKET", "SECRET"))
    parser.add_argument("--gzip", action="store_true")
    parser.add_argument("--plain", action="store_true")
    parser.add_argument("--against", metavar="REV", help="also time the publisher at this git revision")
    args = parser.parse_args()
    if args.child:
        child(*args.child, gzip=args.gzip)
        return 0

    from tokyobeta.io import aws, mysql
    from tokyobeta.ops import localstack
    from tokyobeta.sample.source import build_sample_source

    # The source user may read databases named like the source (its grant is `%<SOURCE_DATABASE>`).
    source = f"{load_dump.prefix()}bench_publish_{os.environ.get('SOURCE_DATABASE', 'gghouse')}"
    admin = mysql.connect(params={"host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
                                  "user": os.environ["MYSQL_ADMIN_USER"],
                                  "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    print(f"building the sample source {source} (scale {args.scale:g}, other tables "
          f"{load_dump.OTHER_MB_PER_GB * args.scale:.0f} MB)...", flush=True)
    build_sample_source(admin, source, DAY, scale=args.scale, seed=load_dump.SEED,
                        other_mb=load_dump.OTHER_MB_PER_GB * args.scale)
    token = uuid.uuid4().hex[:8]
    s3 = aws.s3("aws_default")
    bucket = f"tb-bench-{token}"
    secret_id = f"tokyobeta/bench/{token}/source"
    localstack.ensure_bucket(s3, bucket, os.environ["AWS_DEFAULT_REGION"])
    localstack.ensure_secret(aws.secretsmanager("aws_default"), secret_id, {
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]), "dbname": source,
        "username": os.environ["SOURCE_DB_USER"], "password": os.environ["SOURCE_DB_PASSWORD"]})
    scratch = tempfile.mkdtemp(prefix="bench-publish-")
    try:
        def mariadb_dump() -> float:
            started = time.monotonic()
            with open(os.devnull, "wb") as sink:
                subprocess.run(["mariadb-dump", "--single-transaction", "--skip-dump-date", "--no-tablespaces",
                                "--default-character-set=utf8mb4", *load_dump.client_args(source)],
                               stdout=sink, check=True, env=load_dump.client_env())
            return time.monotonic() - started

        dumps = []
        codes = {"": None}
        if args.against:
            codes = {f" @{args.against}": plugins_at(args.against, scratch),
                     "": None}
        results: dict[tuple[bool, str], list[dict]] = {(gzip, code): [] for gzip in (False, True) for code in codes}
        for gzip in (False, True):
            for _ in range(args.runs):
                dumps.append(mariadb_dump())
                for code, plugins in codes.items():
                    results[gzip, code].append(run_child(bucket, secret_id, gzip, plugins))
        baseline = statistics.median(dumps)
        text_bytes = results[False, ""][0]["bytes"]
        print(f"\nsource {source}: {text_bytes / 1e6:,.0f} MB of dump text, {results[False, ''][0]['rows']:,} "
              f"contract rows")
        print(f"{'variant':36} {'object MB':>10} {'median s':>9} {'text MB/s':>10} {'x dump':>7} {'peak RSS':>9}")
        print("-" * 86)
        print(f"{'mariadb-dump > /dev/null':36} {text_bytes / 1e6:10.0f} {baseline:9.2f} "
              f"{text_bytes / 1e6 / baseline:10.1f} {1:7.2f} {'-':>9}")
        for (gzip, code), runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            rss = max(r["peak_rss_kb"] for r in runs) / 1024
            print(f"{'publisher -> S3' + (' (gzip)' if gzip else '') + code:36} {runs[0]['bytes'] / 1e6:10.0f} "
                  f"{seconds:9.2f} {text_bytes / 1e6 / seconds:10.1f} {seconds / baseline:7.2f} {rss:7.0f} MB")
        # the same data must give the same bytes, whatever the revision
        for gzip in (False, True):
            shas = {(code, r["sha256"]) for code in codes for r in results[gzip, code]}
            same = len({sha for _, sha in shas}) == 1
            print(f"{'gzip' if gzip else 'plain'}: {'the same sha256 in every run' if same else f'DIFFERENT sha256: {sorted(shas)}'}")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
        localstack.remove_bucket(s3, bucket)
        aws.secretsmanager("aws_default").delete_secret(SecretId=secret_id, ForceDeleteWithoutRecovery=True)
        with admin.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{source}`")
        admin.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
