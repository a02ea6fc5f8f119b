"""How fast the staging loader takes a production-sized dump of every shape, against the floor.

Shapes, all generated here (kept in .local/bench/, rebuilt when their recipe changes):
  mariadb        mariadb-dump of the sample source with the production mix: the five contract
                 tables (~131k rows per GB), the rest other tables, 35% of the bytes a narrow,
                 indexed `event_log` (~80 bytes a row, ~4M rows per GB); one row per line
  mysqldump      the same data as MySQL's mysqldump writes it: one INSERT statement per line
  wide           the contract tables plus one other table of wide rows (long Japanese text with
                 escapes, 2-24 KB a row) instead of the mix
  gzip           the mariadb shape, gzip level 6 (what the publisher writes)
  contract-last  the mariadb shape with the contract tables' sections moved to the end, so no
                 server work can hide behind skipping

For each shape it runs, back to back, `runs` times each:
  cli     `tokyobeta load-dump --file --manifest` as the operator runs it: a fresh interpreter,
          settings, connections, the source secret, the verdict, stream, verify, swap, history.
          Wall time of the whole process; peak RSS is the process's own VmHWM.
  dag     the daily DAG's in-process load (tokyobeta.ingest.day.load, from opening the file)
  floor   one sha256 pass over the file (for gzip: plus one inflate pass) + the `mariadb` client
          replaying only the contract tables' statements into a scratch database: what any
          loader that verifies the dump and loads the five tables must at least spend, one
          after the other
and prints one row per shape with the medians and the ratios to the floor.

Targets on the shared 2-core machine: cli <= 1.3x the floor and dag <= 1.15x on every shape, peak
RSS < 200 MB and flat as the dump grows (--gb 0.25,1,2 to see it).

Usage: make bench-load [BENCH_ARGS="--gb 0.25"]   (default --gb 1 --runs 3, every shape)
       BENCH_ARGS="--gb 1 --shapes mariadb,gzip --runs 1"; --baseline adds the client's full replay
"""

from __future__ import annotations

import argparse
import gzip as gzip_mod
import hashlib
import json
import mmap
import os
import random
import statistics
import subprocess
import sys
import time
import zlib
from datetime import date, datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / ".local" / "bench"
DAY = date(2026, 2, 18)
SEED = 42
OTHER_MB_PER_GB = 917.0  # with scale 1 this gives the ~946 MB production dump
GENERATOR_VERSION = 2    # bump when the base dump's recipe changes (2: the narrow event_log table)
SHAPES_VERSION = 1       # bump when a derived shape's recipe below changes
SHAPES = ("mariadb", "mysqldump", "wide", "gzip", "contract-last")
TARGETS = {"x_floor_cli": 1.3, "x_floor_dag": 1.15, "rss_mb": 200.0}
_SECTION = b"\n--\n-- Table structure for table `"
_TRAILER = b"\n/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;"


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

def _fresh(path: Path, recipe: dict) -> dict | None:
    facts_path = path.with_name(path.name + ".json")
    if path.exists() and facts_path.exists():
        facts = json.loads(facts_path.read_text())
        if facts.get("recipe") == recipe and path.stat().st_size == facts["bytes"]:
            return facts
    return None


def _save(path: Path, facts: dict) -> dict:
    path.with_name(path.name + ".json").write_text(json.dumps(facts, indent=2))
    return facts


def _contract_statements(path: Path, gz: bool = False) -> tuple[Path, str]:
    """The contract tables' statements alone (for the floor's replay) and the file's sha256."""
    from tokyobeta.contract import TABLE_NAMES
    from tokyobeta.ingest import dumpfile

    contract_path = path.with_name(path.name + ".contract.sql")
    with open(path, "rb") as raw, open(contract_path, "wb") as out:
        reader = dumpfile.DumpReader(raw, gzip=gz)
        for stmt in dumpfile.Scanner(reader, TABLE_NAMES):
            if stmt.text is not None and (stmt.table in TABLE_NAMES or stmt.kind is dumpfile.Kind.SESSION):
                out.write(stmt.text + b"\n")
        out.write(b"-- Dump completed\n")
        return contract_path, reader.hexdigest()


def build_base(conn, size_gb: float) -> dict:
    """The mariadb shape: mariadb-dump of the sample source with the production mix."""
    from tokyobeta.contract import TABLE_NAMES
    from tokyobeta.sample.source import build_sample_source

    recipe = {"version": GENERATOR_VERSION, "scale": size_gb, "other_mb": OTHER_MB_PER_GB * size_gb, "seed": SEED,
              "day": DAY.isoformat()}
    path = BENCH_DIR / f"mariadb_{size_gb:g}gb.sql"
    facts = _fresh(path, recipe)
    if facts:
        return facts
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    source = f"{prefix()}bench_gghouse"
    print(f"  building the {size_gb:g} GB mariadb dump (sample source scale {size_gb:g}, other tables "
          f"{recipe['other_mb']:.0f} MB)...", flush=True)
    started = time.monotonic()
    counts = build_sample_source(conn, source, DAY, scale=size_gb, seed=SEED, other_mb=recipe["other_mb"])
    with open(path, "wb") as out:
        subprocess.run(["mariadb-dump", "--single-transaction", "--skip-dump-date", "--no-tablespaces",
                        "--default-character-set=utf8mb4", *client_args(source)],
                       stdout=out, check=True, env=client_env())
    drop(conn, source)
    contract_path, sha = _contract_statements(path)
    print(f"  built {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s", flush=True)
    return _save(path, {"recipe": recipe, "path": str(path), "contract_path": str(contract_path),
                        "bytes": path.stat().st_size, "sha256": sha, "gzip": False,
                        "counts": {t: counts[t] for t in TABLE_NAMES}})


def _sections(data) -> tuple[int, list[tuple[str, int, int]], int]:
    """(end of the header, [(table, start, end)], start of the trailer) of a mariadb-dump text."""
    sections = []
    at = data.find(_SECTION)
    header_end = at
    while at >= 0:
        name_start = at + len(_SECTION)
        name = bytes(data[name_start:data.find(b"`", name_start)]).decode()
        following = data.find(_SECTION, name_start)
        sections.append([name, at, following])
        at = following
    trailer = data.find(_TRAILER, sections[-1][1])
    sections[-1][2] = trailer
    return header_end, [tuple(s) for s in sections], trailer


def _copy(out, data, start: int, end: int, step: int = 16 * 2**20) -> None:
    view = memoryview(data)
    for at in range(start, end, step):
        out.write(view[at:min(at + step, end)])
    view.release()


def _wide_rows(budget: int, seed: int):
    """mariadb-dump lines of a `mail_archive` table: long Japanese bodies with quotes, backslashes,
    escaped newlines and tabs, and text that looks like SQL, 2-24 KB a row."""
    rng = random.Random(f"wide:{seed}")
    phrases = ["お世話になっております。", "シェアハウスのご入居について", "ご確認のほどよろしくお願いいたします。",
               "東京都渋谷区神宮前一丁目", "家賃のお支払い期日は毎月二十七日です", "退去のお手続き",
               "It\\'s fine; really.", "鍵の返却は管理事務所まで", "Wi-Fiのパスワード：tokyo\\\\beta",
               "INSERT INTO `tenants` VALUES (1);", "敷金の精算", "📦 お荷物のお届け", "\\n", "\\t", "\\r\\n"]
    pool = ["".join(rng.choice(phrases) for _ in range(rng.randint(60, 700))).encode() for _ in range(64)]
    row_id, written = 0, 0
    while written < budget:
        row_id += 1
        body = pool[rng.randrange(64)]
        line = (b"(%d,%d,'\xe4\xbb\xb6\xe5\x90\x8d %d','" % (row_id, rng.randrange(40000), row_id) + body
                + b"','2026-01-%02d 09:%02d:00')" % (1 + row_id % 28, row_id % 60))
        written += len(line) + 2
        yield line


def _wide_section(out, budget: int) -> None:
    out.write(b"\n--\n-- Table structure for table `mail_archive`\n--\n\nDROP TABLE IF EXISTS `mail_archive`;\n"
              b"/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
              b"/*!40101 SET character_set_client = utf8mb4 */;\nCREATE TABLE `mail_archive` (\n"
              b"  `id` bigint(20) NOT NULL,\n  `tenant_id` int(11) NOT NULL,\n  `subject` varchar(255) NOT NULL,\n"
              b"  `body` mediumtext NOT NULL,\n  `sent_at` datetime NOT NULL,\n  PRIMARY KEY (`id`)\n"
              b") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;\n"
              b"/*!40101 SET character_set_client = @saved_cs_client */;\n\n--\n"
              b"-- Dumping data for table `mail_archive`\n--\n\nLOCK TABLES `mail_archive` WRITE;\n"
              b"/*!40000 ALTER TABLE `mail_archive` DISABLE KEYS */;\n")
    statement: list[bytes] = []
    size = 0
    for line in _wide_rows(budget, SEED):
        statement.append(line)
        size += len(line)
        if size > 1_000_000:  # mariadb-dump's statements end near net_buffer_length (1 MB)
            out.write(b"INSERT INTO `mail_archive` VALUES\n" + b",\n".join(statement) + b";\n")
            statement, size = [], 0
    if statement:
        out.write(b"INSERT INTO `mail_archive` VALUES\n" + b",\n".join(statement) + b";\n")
    out.write(b"/*!40000 ALTER TABLE `mail_archive` ENABLE KEYS */;\nUNLOCK TABLES;\n")


def build_shape(shape: str, base: dict) -> dict:
    from tokyobeta.contract import TABLE_NAMES

    if shape == "mariadb":
        return base
    recipe = {"version": SHAPES_VERSION, "shape": shape, "base": base["sha256"]}
    src = Path(base["path"])
    path = src.with_name(src.name.replace("mariadb_", f"{shape}_") + (".gz" if shape == "gzip" else ""))
    facts = _fresh(path, recipe)
    if facts:
        return facts
    print(f"  building the {shape} shape from {src.name}...", flush=True)
    started = time.monotonic()
    contract_path = Path(base["contract_path"])
    with open(src, "rb") as raw, mmap.mmap(raw.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if shape == "gzip":
            with open(path, "wb") as out, gzip_mod.GzipFile(fileobj=out, mode="wb", compresslevel=6, mtime=0) as gz:
                _copy(gz, data, 0, len(data))
        elif shape == "mysqldump":
            with open(path, "wb") as out:
                out.write(b"-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n")
                first = data.find(b"\n", data.find(b"\n") + 1) + 1  # past the sandbox line and MariaDB's banner
                out.writelines(mmap_lines(data, first))
            contract_path, _ = _contract_statements(path)
        else:
            header_end, sections, trailer = _sections(data)
            contract = [s for s in sections if s[0] in TABLE_NAMES]
            others = [s for s in sections if s[0] not in TABLE_NAMES]
            with open(path, "wb") as out:
                _copy(out, data, 0, header_end)
                if shape == "wide":
                    _wide_section(out, sum(end - start for _, start, end in others))
                    for _, start, end in contract:
                        _copy(out, data, start, end)
                else:  # contract-last
                    for _, start, end in others + contract:
                        _copy(out, data, start, end)
                _copy(out, data, trailer, len(data))
    sha = hashlib.sha256()
    with open(path, "rb", buffering=0) as raw:
        while chunk := raw.read(16 * 2**20):
            sha.update(chunk)
    print(f"  built {path.name} ({path.stat().st_size / 1e6:.0f} MB) in {time.monotonic() - started:.0f} s",
          flush=True)
    return _save(path, {"recipe": recipe, "path": str(path), "contract_path": str(contract_path),
                        "bytes": path.stat().st_size, "sha256": sha.hexdigest(), "gzip": shape == "gzip",
                        "counts": base["counts"]})


def mmap_lines(data, start: int):
    """The text from `start` with every multi-line INSERT joined onto one line, as mysqldump
    writes it (`INSERT INTO t VALUES (..),(..);`). A raw newline never falls inside a value."""
    at = start
    joining = False
    while at < len(data):
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end + 1
        line = data[at:end]
        at = end
        if joining:
            body = line.rstrip(b"\n")
            if body.endswith(b";"):
                joining = False
                yield body + b"\n"
            else:
                yield body
        elif line.startswith(b"INSERT INTO ") and line.endswith(b" VALUES\n"):
            joining = True
            yield line[:-1] + b" "
        else:
            yield line


def manifest_file(facts: dict) -> Path:
    """A manifest naming this checkout's trusted source (the secret `tokyobeta local-aws-init` wrote)."""
    from tokyobeta.ingest import manifest as manifest_mod

    now = datetime.now(timezone.utc).replace(microsecond=0)
    key = f"dumps/gghouse_{DAY:%Y%m%d}.sql" + (".gz" if facts["gzip"] else "")
    manifest = manifest_mod.Manifest(
        dump_date=DAY, dump_key=key, dump_bytes=facts["bytes"], dump_sha256=facts["sha256"],
        source=manifest_mod.Source(os.environ["MYSQL_HOST"], os.environ["SOURCE_DATABASE"],
                                   os.environ["SOURCE_SECRET_ID"]),
        source_valid=True, valid_for_etl=True, reason_codes=(), table_row_counts=facts["counts"], dump_started_at=now,
        dump_finished_at=now, published_at=now)
    path = Path(facts["path"] + ".manifest.json")
    path.write_text(manifest.to_json())
    return path


# --- the measurements --------------------------------------------------------------------------

def own_peak_rss_kb() -> int:
    """This process's peak RSS since its exec (VmHWM). wait4's ru_maxrss would not do: Linux
    carries the forking parent's high-water mark across execve, so a child of this (large)
    benchmark process would report the parent's size, not its own."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


# The operator's command exactly as its console script runs it, plus its own VmHWM on stderr.
_CLI_CHILD = ("import sys; from tokyobeta.cli import main; code = main(sys.argv[1:]); "
              "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')][0].split()[1]; "
              "print('peak_rss_kb', hwm, file=sys.stderr); sys.exit(code)")


def child_env() -> dict:
    return {**os.environ, "SCHEMA_PREFIX": f"{prefix()}bench_"}


def run_cli(facts: dict, manifest_path: Path) -> dict:
    started = time.monotonic()
    proc = subprocess.run([sys.executable, "-c", _CLI_CHILD, "load-dump", "--file", facts["path"],
                           "--manifest", str(manifest_path)], env=child_env(), capture_output=True, text=True)
    wall = time.monotonic() - started
    if proc.returncode != 0:
        raise RuntimeError(f"tokyobeta load-dump failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    rss = int(proc.stderr.strip().splitlines()[-1].split()[1])
    return {"wall": wall, "rss_mb": rss / 1024}


def child_load(dump_path: str, manifest_path: str) -> int:
    """In the child: the DAG's load path (tokyobeta.ingest.day.load), timed from opening the file."""
    from tokyobeta import settings
    from tokyobeta.ingest import day as ingest_day
    from tokyobeta.ingest import manifest as manifest_mod
    from tokyobeta.io import mysql

    cfg = settings.from_env()
    manifest = manifest_mod.parse(Path(manifest_path).read_bytes())
    params = {"host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
              "user": os.environ["TOKYOBETA_DB_USER"], "password": os.environ["TOKYOBETA_DB_PASSWORD"]}
    conn = mysql.connect(params=params)
    started = time.monotonic()
    with open(dump_path, "rb", buffering=0) as body:
        outcome = ingest_day.load(conn, cfg, manifest, body, ingest_day.DumpAt(dump_path, manifest_path), "bench", None,
                                  connect=lambda: mysql.connect(params=params))
    seconds = time.monotonic() - started
    conn.close()
    print(json.dumps({"status": outcome.status, "load_seconds": seconds, "peak_rss_kb": own_peak_rss_kb()}))
    return 0 if outcome.status == "loaded" else 1


def run_dag(facts: dict, manifest_path: Path) -> dict:
    proc = subprocess.run([sys.executable, __file__, "--child", facts["path"], str(manifest_path)], env=child_env(),
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(f"the in-process load failed ({proc.returncode}): {proc.stdout}{proc.stderr}")
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"load": report["load_seconds"], "rss_mb": report["peak_rss_kb"] / 1024}


def replay(path: str, database: str) -> float:
    with open(path, "rb") as dump:
        started = time.monotonic()
        subprocess.run(["mariadb", *client_args(database)], stdin=dump, check=True, env=client_env())
        return time.monotonic() - started


def read_pass(path: str, gz: bool) -> float:
    """One sha256 pass over the file, and for gzip one inflate pass as well (as `gzip -t`)."""
    started = time.monotonic()
    digest = hashlib.sha256()
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS) if gz else None
    with open(path, "rb", buffering=0) as raw:
        while chunk := raw.read(16 * 1024 * 1024):
            digest.update(chunk)
            if inflater is not None:
                while chunk:
                    inflater.decompress(chunk, 16 * 1024 * 1024)
                    chunk = inflater.unconsumed_tail
    return time.monotonic() - started


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def bench(sizes: list[float], shapes: list[str], runs: int, baseline: bool) -> int:
    from tokyobeta.io import mysql

    conn = mysql.connect(params=admin_params())
    for name in ("staging", "staging_backup", "ops"):
        recreate(conn, f"{prefix()}bench_{name}")
    rows_out = []
    for size in sizes:
        base = build_base(conn, size)
        built = {shape: build_shape(shape, base) for shape in shapes}
        print(f"load average at start of {size:g} GB: {load_average()} ({os.cpu_count()} CPUs)", flush=True)
        for shape, facts in built.items():
            manifest_path = manifest_file(facts)
            read_pass(facts["path"], facts["gzip"])  # into the page cache
            clis, dags, floors = [], [], []
            for _ in range(runs):  # interleaved, so a neighbour's burst hits all three alike
                clis.append(run_cli(facts, manifest_path))
                dags.append(run_dag(facts, manifest_path))
                recreate(conn, f"{prefix()}bench_floor_scratch")
                floors.append(read_pass(facts["path"], facts["gzip"])
                              + replay(facts["contract_path"], f"{prefix()}bench_floor_scratch"))
            base_s = None
            if baseline and not facts["gzip"]:
                recreate(conn, f"{prefix()}bench_replay_scratch")
                base_s = replay(facts["path"], f"{prefix()}bench_replay_scratch")
            row = {"size": size, "shape": shape, "mb": facts["bytes"] / 1e6, "rows": sum(facts["counts"].values()),
                   "cli": statistics.median(x["wall"] for x in clis), "dag": statistics.median(x["load"] for x in dags),
                   "floor": statistics.median(floors), "rss": max(x["rss_mb"] for x in clis + dags),
                   "baseline": base_s}
            rows_out.append(row)
            cli_s = ", ".join(f"{x['wall']:.2f}" for x in clis)
            dag_s = ", ".join(f"{x['load']:.2f}" for x in dags)
            floor_s = ", ".join(f"{f:.2f}" for f in floors)
            print(f"  {size:g} GB {shape}: cli {cli_s} s; dag {dag_s} s; floor {floor_s} s", flush=True)
    for name in ("replay_scratch", "floor_scratch"):
        drop(conn, f"{prefix()}bench_{name}")
    conn.close()
    print(f"load average at end: {load_average()}\n")
    header = (f"{'size':>6} {'shape':<13} {'MB':>6} {'cli s':>6} {'dag s':>6} {'floor s':>7} {'x floor':>7} "
              f"{'dag x':>6} {'MB/s':>5} {'peak RSS':>9}" + (f" {'replay s':>8} {'x faster':>8}" if baseline else ""))
    print(header)
    print("-" * len(header))
    for r in rows_out:
        line = (f"{r['size']:>4g}GB {r['shape']:<13} {r['mb']:>6.0f} {r['cli']:>6.2f} {r['dag']:>6.2f} "
                f"{r['floor']:>7.2f} {r['cli'] / r['floor']:>6.2f}x {r['dag'] / r['floor']:>5.2f}x "
                f"{r['mb'] / r['cli']:>5.0f} {r['rss']:>6.0f} MB")
        if baseline:
            line += (f" {r['baseline']:>8.1f} {r['baseline'] / r['cli']:>7.1f}x" if r["baseline"] else f" {'-':>8} {'-':>8}")
        print(line)
    print(f"\ncli: `tokyobeta load-dump --file --manifest`, whole process wall; dag: the DAG's in-process load from "
          f"opening the file;\nfloor: sha256 pass (+ inflate for gzip) + the client replaying the contract statements. "
          f"Medians of {runs} runs.")
    checks = [("cli x the floor", max(r["cli"] / r["floor"] for r in rows_out), TARGETS["x_floor_cli"]),
              ("dag x the floor", max(r["dag"] / r["floor"] for r in rows_out), TARGETS["x_floor_dag"]),
              ("peak RSS MB", max(r["rss"] for r in rows_out), TARGETS["rss_mb"])]
    if len(sizes) > 1:
        first = max(r["rss"] for r in rows_out if r["size"] == sizes[0])
        last = max(r["rss"] for r in rows_out if r["size"] == sizes[-1])
        print(f"peak RSS from {sizes[0]:g} GB to {sizes[-1]:g} GB: {first:.0f} -> {last:.0f} MB ({last / first:.2f}x)")
    ok = True
    for name, value, target in checks:
        met = value <= target
        ok &= met
        print(f"target {name}: {value:.2f} (worst shape) <= {target:g}: {'met' if met else 'MISSED'}")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gb", default="1", help="dump sizes in GB, comma-separated (e.g. 0.25 or 0.25,1,2)")
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated, of {', '.join(SHAPES)}")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measurement per shape (medians)")
    parser.add_argument("--baseline", action="store_true", help="add the client's (slow) full replay per shape")
    parser.add_argument("--child", nargs=2, metavar=("DUMP", "MANIFEST"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        return child_load(*args.child)
    shapes = [s.strip() for s in args.shapes.split(",") if s.strip()]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        parser.error(f"unknown shapes {unknown}: choose from {', '.join(SHAPES)}")
    return bench([float(s) for s in args.gb.split(",")], shapes, args.runs, args.baseline)


if __name__ == "__main__":
    sys.exit(main())
