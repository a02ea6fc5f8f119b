"""How fast the staging loader takes a production-sized dump, against two references:

  baseline  the `mariadb` client replaying the whole dump into a scratch database (what the
            legacy loader did, roughly)
  floor     one sha256 pass over the file + the `mariadb` client replaying only the contract
            tables' statements: what any loader that verifies the dump and loads the five
            tables must at least spend, done one after the other

For each size (0.25, 1 and 2 GB of mariadb-dump text with the production mix: the five
contract tables at ~131k rows per GB, the rest other tables) it prints wall time, MB/s,
contract rows/s, peak RSS of the loader process, and the ratios. The loader runs in a child
process (fresh interpreter, the same code path as the DAG's load_staging: verify, swap,
history) so its own peak RSS (VmHWM) is measured apart from this process's; its wall time is that whole process's.
Files are read from the page cache (each is read before it is timed). Dumps are built once
from the sample source and kept in .local/bench/ (rebuilt when the generator's inputs change).

Targets on the 2-core machine: >= 15x faster than the baseline, < 5 s for 1 GB, within 1.5x
of the floor, peak RSS < 200 MB and flat as the dump grows.

Usage: make bench-load  (or scripts/with-env.sh python scripts/bench/load_dump.py --sizes 1 --runs 3)
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / ".local" / "bench"
DAY = date(2026, 2, 18)
SEED = 42
OTHER_MB_PER_GB = 917.0  # with scale 1 this gives the ~946 MB production dump
GENERATOR_VERSION = 2    # bump when the dump recipe below changes (2: the narrow event_log table)
TARGETS = {"x_baseline": 15.0, "seconds_1gb": 5.0, "x_floor": 1.5, "rss_mb": 200.0}


def admin_params() -> dict:
    return {"host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
            "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")}


def client_args(database: str) -> list[str]:
    p = admin_params()
    return ["--protocol=tcp", f"--host={p['host']}", f"--port={p['port']}", f"--user={p['user']}", database]


def client_env() -> dict:
    return {**os.environ, "MYSQL_PWD": admin_params()["password"]}


def prefix() -> str:
    return os.environ.get("SCHEMA_PREFIX", "")


def recreate(conn, database: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def drop(conn, database: str) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")


# --- the dumps -----------------------------------------------------------------------------

def build_dump(conn, size_gb: float) -> dict:
    """The dump of `size_gb` and its facts, built once and kept while its recipe is unchanged."""
    from tokyobeta.contract import TABLE_NAMES
    from tokyobeta.ingest import dumpfile
    from tokyobeta.sample.source import build_sample_source

    recipe = {"version": GENERATOR_VERSION, "scale": size_gb, "other_mb": OTHER_MB_PER_GB * size_gb, "seed": SEED,
              "day": DAY.isoformat()}
    path = BENCH_DIR / f"gghouse_bench_{size_gb:g}gb.sql"
    facts_path = path.with_suffix(".json")
    if path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
        if facts.get("recipe") == recipe and path.stat().st_size == facts["bytes"]:
            return facts
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    source = f"{prefix()}bench_gghouse"
    print(f"  building the {size_gb:g} GB dump (sample source scale {size_gb:g}, other tables "
          f"{recipe['other_mb']:.0f} MB)...", flush=True)
    started = time.monotonic()
    counts = build_sample_source(conn, source, DAY, scale=size_gb, seed=SEED, other_mb=recipe["other_mb"])
    with open(path, "wb") as out:
        subprocess.run(["mariadb-dump", "--single-transaction", "--skip-dump-date", "--no-tablespaces",
                        "--default-character-set=utf8mb4", *client_args(source)],
                       stdout=out, check=True, env=client_env())
    drop(conn, source)
    # The contract tables' statements alone, for the floor's replay (not timed).
    contract_path = path.with_suffix(".contract.sql")
    with open(path, "rb") as raw, open(contract_path, "wb") as out:
        reader = dumpfile.DumpReader(raw)
        for stmt in dumpfile.Scanner(reader, TABLE_NAMES):
            if stmt.text is not None and (stmt.table in TABLE_NAMES or stmt.kind is dumpfile.Kind.SESSION):
                out.write(stmt.text + b"\n")
        out.write(b"-- Dump completed\n")
        sha = reader.hexdigest()
    facts = {"recipe": recipe, "path": str(path), "contract_path": str(contract_path), "bytes": path.stat().st_size,
             "sha256": sha, "counts": {t: counts[t] for t in TABLE_NAMES}}
    facts_path.write_text(json.dumps(facts, indent=2))
    print(f"  built {path.name} ({facts['bytes'] / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s", flush=True)
    return facts


def manifest_file(facts: dict) -> Path:
    from tokyobeta.ingest import manifest as manifest_mod

    now = datetime.now(timezone.utc).replace(microsecond=0)
    manifest = manifest_mod.Manifest(
        dump_date=DAY, dump_key=f"dumps/gghouse_{DAY:%Y%m%d}.sql", dump_bytes=facts["bytes"],
        dump_sha256=facts["sha256"], source=manifest_mod.Source("bench", "gghouse", "bench"), source_valid=True,
        valid_for_etl=True, reason_codes=(), table_row_counts=facts["counts"], dump_started_at=now,
        dump_finished_at=now, published_at=now)
    path = Path(facts["path"]).with_suffix(".manifest.json")
    path.write_text(manifest.to_json())
    return path


# --- the measurements --------------------------------------------------------------------------

def child_load(dump_path: str, manifest_path: str) -> int:
    """In the child: the DAG's load path (tokyobeta.ingest.day.load) on a local file."""
    from tokyobeta import settings
    from tokyobeta.ingest import day as ingest_day
    from tokyobeta.ingest import manifest as manifest_mod
    from tokyobeta.io import mysql

    started = time.monotonic()
    cfg = settings.from_env()
    manifest = manifest_mod.parse(Path(manifest_path).read_bytes())
    # The pipeline's user, from the environment (the Airflow connection would cost an Airflow import).
    params = {"host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
              "user": os.environ["TOKYOBETA_DB_USER"], "password": os.environ["TOKYOBETA_DB_PASSWORD"]}
    conn = mysql.connect(params=params)
    with open(dump_path, "rb", buffering=0) as body:
        outcome = ingest_day.load(conn, cfg, manifest, body, ingest_day.DumpAt(dump_path, manifest_path), "bench", None,
                                  connect=lambda: mysql.connect(params=params))
    conn.close()
    result = outcome.result
    print(json.dumps({"status": outcome.status, "load_seconds": time.monotonic() - started,
                      "rows": result.rows if result else 0, "peak_rss_kb": own_peak_rss_kb()}))
    return 0 if outcome.status == "loaded" else 1


def own_peak_rss_kb() -> int:
    """This process's peak RSS since its exec (VmHWM). wait4's ru_maxrss would not do: Linux
    carries the forking parent's high-water mark across execve, so a child of this (large)
    benchmark process would report the parent's size, not its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def run_loader(facts: dict, manifest_path: Path) -> dict:
    env = {**os.environ, "SCHEMA_PREFIX": f"{prefix()}bench_"}
    started = time.monotonic()
    proc = subprocess.Popen([sys.executable, __file__, "--child", facts["path"], str(manifest_path)], env=env,
                            stdout=subprocess.PIPE, text=True)
    out = proc.stdout.read()
    _, status, _ = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(f"the loader failed ({proc.returncode}): {out}")
    report = json.loads(out.strip().splitlines()[-1])
    return {"wall": wall, "load": report["load_seconds"], "rss_mb": report["peak_rss_kb"] / 1024}


def replay(path: str, database: str) -> float:
    with open(path, "rb") as dump:
        started = time.monotonic()
        subprocess.run(["mariadb", *client_args(database)], stdin=dump, check=True, env=client_env())
        return time.monotonic() - started


def sha256_pass(path: str) -> float:
    started = time.monotonic()
    digest = hashlib.sha256()
    with open(path, "rb", buffering=0) as raw:
        while chunk := raw.read(16 * 1024 * 1024):
            digest.update(chunk)
    return time.monotonic() - started


def warm(path: str) -> None:
    sha256_pass(path)


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench(sizes: list[float], runs: int, baseline: bool) -> int:
    from tokyobeta.io import mysql

    conn = mysql.connect(params=admin_params())
    for name in ("staging", "staging_backup", "ops"):
        recreate(conn, f"{prefix()}bench_{name}")
    print(f"load average at start: {load_average()} ({os.cpu_count()} CPUs)")
    rows_out = []
    for size in sizes:
        facts = build_dump(conn, size)
        manifest_path = manifest_file(facts)
        warm(facts["path"])
        rows = sum(facts["counts"].values())
        loads = [run_loader(facts, manifest_path) for _ in range(runs)]
        floors = []
        for _ in range(runs):
            recreate(conn, f"{prefix()}bench_floor_scratch")
            floors.append(sha256_pass(facts["path"]) + replay(facts["contract_path"], f"{prefix()}bench_floor_scratch"))
        base = None
        if baseline:
            recreate(conn, f"{prefix()}bench_replay_scratch")
            base = replay(facts["path"], f"{prefix()}bench_replay_scratch")
        wall = statistics.median(x["wall"] for x in loads)
        rows_out.append({
            "size": size, "mb": facts["bytes"] / 1e6, "rows": rows, "wall": wall,
            "load": statistics.median(x["load"] for x in loads), "rss": max(x["rss_mb"] for x in loads),
            "floor": statistics.median(floors), "baseline": base})
        walls = ", ".join(f"{x['wall']:.2f}" for x in loads)
        floor_times = ", ".join(f"{f:.2f}" for f in floors)
        print(f"  {size:g} GB: loader {walls} s; floor {floor_times} s; "
              f"baseline {f'{base:.1f} s' if base else 'skipped'}", flush=True)
    for name in ("replay_scratch", "floor_scratch"):
        drop(conn, f"{prefix()}bench_{name}")
    conn.close()
    print(f"load average at end: {load_average()}\n")
    header = (f"{'dump':>8} {'MB':>7} {'contract rows':>13} {'loader s':>9} {'(in-proc)':>9} {'MB/s':>6} "
              f"{'rows/s':>8} {'peak RSS':>9} {'baseline s':>10} {'x faster':>8} {'floor s':>8} {'x floor':>7}")
    print(header)
    print("-" * len(header))
    for r in rows_out:
        faster = r["baseline"] / r["wall"] if r["baseline"] else float("nan")
        print(f"{r['size']:>6g}GB {r['mb']:>7.0f} {r['rows']:>13,} {r['wall']:>9.2f} {r['load']:>9.2f} "
              f"{r['mb'] / r['wall']:>6.0f} {r['rows'] / r['wall']:>8,.0f} {r['rss']:>6.0f} MB "
              f"{(r['baseline'] or float('nan')):>10.1f} {faster:>7.1f}x {r['floor']:>8.2f} {r['wall'] / r['floor']:>6.2f}x")
    print("\nloader s: the loader process's wall time (fresh interpreter, imports, stream, verify, swap, history);"
          "\n(in-proc): the same from opening the file; ratios use the process wall time. Medians of "
          f"{runs} runs; baseline: one run.")
    one = next((r for r in rows_out if r["size"] == 1), None)
    checks = []
    if baseline:
        checks.append(("x faster than the baseline", min(r["baseline"] / r["wall"] for r in rows_out), ">=",
                       TARGETS["x_baseline"]))
    if one:
        checks.append(("seconds for 1 GB", one["wall"], "<", TARGETS["seconds_1gb"]))
    checks.append(("x the floor", max(r["wall"] / r["floor"] for r in rows_out), "<=", TARGETS["x_floor"]))
    checks.append(("peak RSS MB", max(r["rss"] for r in rows_out), "<", TARGETS["rss_mb"]))
    if len(rows_out) > 1:
        growth = rows_out[-1]["rss"] / rows_out[0]["rss"]
        print(f"peak RSS from {rows_out[0]['size']:g} GB to {rows_out[-1]['size']:g} GB: {growth:.2f}x "
              f"({rows_out[0]['rss']:.0f} -> {rows_out[-1]['rss']:.0f} MB)")
    ok = True
    for name, value, op, target in checks:
        met = {">=": value >= target, "<": value < target, "<=": value <= target}[op]
        ok &= met
        print(f"target {name}: {value:.2f} (worst size) {op} {target:g}: {'met' if met else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="0.25,1,2", help="dump sizes in GB, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="loader and floor runs per size (medians)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the (slow) full replay")
    parser.add_argument("--child", nargs=2, metavar=("DUMP", "MANIFEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_load(*args.child)
    sizes = [float(s) for s in args.sizes.split(",")]
    return bench(sizes, args.runs, baseline=not args.no_baseline)


if __name__ == "__main__":
    sys.exit(main())
