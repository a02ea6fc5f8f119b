"""Runs the enrichment over a generated sample, twice, and prints how its inputs were
resolved (rules / cache / model / unknown) by distinct input and by row, with timings.

The sample is the project's realistic generator (tokyobeta.sample) at the given scale, loaded
into its own schema ${SCHEMA_PREFIX}bench_staging (dropped and rebuilt each time; nothing else
is touched). --messy N rewrites N tenants' nationality and N apartments' addresses into forms
the rules do not know (a typo in an English country name; the municipality's 区/市/町/村 left
out), so the model path and the cache show up in the numbers too. The provider is the
configured one (ENRICHMENT_PROVIDER; `offline` locally).

Usage: scripts/with-env.sh python scripts/bench/enrichment_shares.py [--scale 1] [--messy 0]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import date
from pathlib import Path

from tokyobeta import settings
from tokyobeta.enrich import municipality, nationality, providers
from tokyobeta.enrich.run import Enricher
from tokyobeta.io import mysql
from tokyobeta.sample.generator import generate_contract_tables

REPO = Path(__file__).resolve().parents[2]
GROUPS = (("rules", ("rule",)), ("placeholder", ("placeholder",)), ("cache", ("cache",)), ("model", ("model",)),
          ("model: unknown/invalid", ("model_unknown", "invalid")), ("left for next run", ("failed", "capped", "stopped")))


def typo(rng: random.Random, word: str) -> str:
    """One adjacent transposition inside the word: what a hurried typist does."""
    i = rng.randrange(1, len(word) - 2)
    return word[:i] + word[i + 1] + word[i] + word[i + 2:]


def messy(rng: random.Random, tenants: list[list], apartments: list[list], n: int) -> None:
    latin = [row for row in tenants if row[1] and row[1].isascii() and len(row[1].strip()) >= 6]
    for row in rng.sample(latin, min(n, len(latin))):
        row[1] = typo(rng, row[1].strip())
    for row in rng.sample(apartments, min(n, len(apartments))):
        place = municipality.resolve(row[1], row[2], row[3])
        if place and row[1]:
            row[1] = row[1].replace(place.municipality, place.municipality[:-1], 1)
            row[3] = None


def load(conn, db: str, tenants: list[list], apartments: list[list]) -> None:
    with conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{db}`")
        cur.execute(f"CREATE DATABASE `{db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        cur.execute(f"CREATE TABLE `{db}`.tenants (id INT PRIMARY KEY, nationality VARCHAR(64)) "
                    "DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        cur.execute(f"CREATE TABLE `{db}`.apartments (id INT PRIMARY KEY, address VARCHAR(255), prefecture VARCHAR(32), "
                    "municipality VARCHAR(64)) DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci")
        cur.executemany(f"INSERT INTO `{db}`.tenants VALUES (%s, %s)", tenants)
        cur.executemany(f"INSERT INTO `{db}`.apartments VALUES (%s, %s, %s, %s)", apartments)


def share_table(report: dict) -> list[str]:
    lines = [f"  {'':24}{'nationality inputs':>20}{'tenant rows':>16}{'apartments':>14}"]
    nat, muni = report["nationality"], report["municipality"]
    for label, outcomes in GROUPS:
        ni = sum(nat["inputs_by_outcome"].get(o, 0) for o in outcomes)
        nr = sum(nat["rows_by_outcome"].get(o, 0) for o in outcomes)
        ma = sum(muni["inputs_by_outcome"].get(o, 0) for o in outcomes)
        lines.append(f"  {label:24}{ni:>8} {ni / nat['inputs']:>8.1%}  {nr:>7} {nr / nat['rows']:>6.1%}"
                     f"  {ma:>5} {ma / muni['inputs']:>6.1%}")
    lines.append(f"  {'total':24}{nat['inputs']:>8} {'':>8}  {nat['rows']:>7} {'':>6}  {muni['inputs']:>5}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--as-of", type=date.fromisoformat, default=date(2026, 11, 24))
    parser.add_argument("--messy", type=int, default=0, help="tenants and apartments made unknown to the rules")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()

    cfg = settings.from_env()
    db = cfg.schema("bench_staging")
    t0 = time.perf_counter()
    tables = generate_contract_tables(args.as_of, args.scale, args.seed)
    t_cols, a_cols = tables["tenants"].columns, tables["apartments"].columns
    tenants = [[r[t_cols.index("id")], r[t_cols.index("nationality")]] for r in tables["tenants"].rows]
    apartments = [[r[a_cols.index(c)] for c in ("id", "address", "prefecture", "municipality")] for r in tables["apartments"].rows]
    messy(random.Random(args.seed), tenants, apartments, args.messy)
    print(f"sample: scale {args.scale}, seed {args.seed}, as of {args.as_of}: {len(tenants)} tenants, "
          f"{len(apartments)} apartments, {args.messy} of each made messy ({time.perf_counter() - t0:.1f} s to generate)")
    nationality._index(), municipality.registry()  # data files loaded once, outside the timings
    with mysql.connection(cfg.mysql_conn_id) as conn:
        load(conn, db, tenants, apartments)
        schemas = {**cfg.schemas(), "staging": db}
        for run in range(1, args.runs + 1):
            provider = providers.from_settings(cfg)
            started = time.perf_counter()
            report = Enricher(conn, schemas, REPO / "include", provider, cfg.enrichment_max_model_calls).run()
            seconds = time.perf_counter() - started
            total = report["total"]
            print(f"\nrun {run} ({report['provider']} {report['model_id']}, prompt {report['prompt_version']}, "
                  f"cap {report['max_model_calls']}): {seconds:.2f} s, {total['model_calls']} model calls, "
                  f"{total['cache_hits']} cache hits, {total['invalid_answers']} invalid, cap reached {total['cap_reached']}")
            print("\n".join(share_table(report)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
