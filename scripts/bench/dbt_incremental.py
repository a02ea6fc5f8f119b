"""How long the daily transformations take on a year of history at production scale.

Setup (not timed): in schemas of its own (BENCH_SCHEMA_PREFIX, default "<SCHEMA_PREFIX>bench_"),
the sample source at scale 1 (production-sized staging: ~37k tenants, ~42k movings) is built
for the day before DAY and dbt builds it; 364 earlier daily snapshots are then derived from
that one with bulk INSERT ... SELECT (every room's tenant-room on every day, upcoming (5) while
its move-in was still ahead), silver events and gold are rebuilt over the whole year, and the
KPIs upserted, as a year of daily runs would have left them; the DAG's transformation tasks
then run once for that day (not timed), so the candidate twins exist and hold the previous
publication, as every day after the first finds them (write-audit-publish).
Timed: the sample source of DAY (the next simulated day) becomes the staging load, and the
daily DAG's own dbt_silver and dbt_gold cosmos tasks, audit_candidates, publish_silver_gold and
upsert_kpis run for it, one after the other in this process (dag.test on that part of
tokyobeta_daily_etl): the real dbt commands cosmos runs, through the dbt virtualenv. Target:
under 60 s.
Usage: make bench-dbt   (or scripts/with-env.sh python scripts/bench/dbt_incremental.py [--day YYYY-MM-DD])"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

TARGET_SECONDS = 60.0
HISTORY_DAYS = 365
CHUNK_DAYS = 28
DBT_TASKS = r"^(dbt_silver\.|dbt_gold\.|audit_candidates$|publish_silver_gold$|upsert_kpis$)"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--day", type=date.fromisoformat, default=date(2026, 11, 25),
                        help="the new dump day (the history ends the day before)")
    parser.add_argument("--scale", type=float, default=1.0, help="sample scale (1.0 = production)")
    parser.add_argument("--keep-setup", action="store_true",
                        help="reuse the year a previous run built (the timed day is then a rerun of DAY: same work)")
    args = parser.parse_args()
    prefix = os.environ.get("BENCH_SCHEMA_PREFIX") or f"{os.environ.get('SCHEMA_PREFIX', '')}bench_"
    os.environ["SCHEMA_PREFIX"] = prefix  # before settings or the DAG are read: it shapes both
    os.environ.setdefault("ENRICHMENT_PROVIDER", "offline")

    from tokyobeta import settings
    from tokyobeta.io import mysql

    cfg = settings.from_env()
    schemas = cfg.schemas()
    admin = mysql.connect(params={
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
        "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    base_day = args.day - timedelta(days=1)
    print(f"bench schemas {prefix}*, new day {args.day}, history {base_day - timedelta(days=HISTORY_DAYS - 1)} .. "
          f"{base_day}, scale {args.scale}")

    started = time.monotonic()
    if not args.keep_setup:
        reset_schemas(admin, schemas)
        load_day(admin, cfg, base_day, args.scale)
        dbt(cfg, "build")
        generate_history(admin, schemas, base_day)
        dbt(cfg, "run", "--full-refresh", "--select", "tenant_room_events_daily", "path:models/gold")
        upsert_kpis(cfg)
        primed = time.monotonic()
        run_daily_transformations(cfg, base_day)
        print(f"candidate twins primed (cloned from the year, {base_day} published) in {time.monotonic() - primed:.0f} s")
    history_rows = scalar(admin, f"SELECT COUNT(*) FROM `{schemas['silver']}`.tenant_room_snapshot_daily "
                                 "WHERE snapshot_date <= %s", (base_day,))
    base_rows = scalar(admin, f"SELECT COUNT(*) FROM `{schemas['silver']}`.tenant_room_snapshot_daily "
                              "WHERE snapshot_date = %s", (base_day,))
    how = "reused from the previous run" if args.keep_setup else f"built in {time.monotonic() - started:.0f} s"
    print(f"history: {history_rows:,} snapshot rows over {HISTORY_DAYS} days ({base_rows:,} on {base_day}), "
          f"with gold and KPIs, {how}")

    counts = load_day(admin, cfg, args.day, args.scale)
    print(f"staging for {args.day}: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    load = os.getloadavg()
    durations, wall = run_daily_transformations(cfg, args.day)
    new_rows = scalar(admin, f"SELECT COUNT(*) FROM `{schemas['silver']}`.tenant_room_snapshot_daily "
                             "WHERE snapshot_date = %s", (args.day,))
    report(durations, wall, new_rows, load)
    admin.close()
    return 0 if wall < TARGET_SECONDS else 1


def scalar(conn, sql: str, args=None):
    with conn.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchone()[0]


def reset_schemas(admin, schemas) -> None:
    with admin.cursor() as cur:
        for name in ("staging", "staging_backup", "silver", "gold", "silver_candidate", "gold_candidate", "ops"):
            cur.execute(f"DROP DATABASE IF EXISTS `{schemas[name]}`")
            cur.execute(f"CREATE DATABASE `{schemas[name]}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")


def load_day(admin, cfg, day: date, scale: float) -> dict[str, int]:
    from tokyobeta.sample import staging

    return staging.build_from_sample(admin, cfg.schemas(), cfg.include_path, day, scale=scale, seed=42)


def dbt(cfg, *args: str) -> None:
    project = str(cfg.dbt_project_path)
    with tempfile.TemporaryDirectory(prefix="bench-dbt-") as target:
        subprocess.run([cfg.dbt_executable_path, *args, "--project-dir", project, "--profiles-dir", project,
                        "--target", "local", "--target-path", target, "--quiet"], check=True, cwd=project)


def generate_history(admin, schemas, base_day: date) -> None:
    """364 earlier snapshots derived from the base day's, in bulk: the same tenant-rooms every
    day (a room had a tenant then too), upcoming (5) until their move-in."""
    silver = schemas["silver"]
    columns = ("snapshot_date, tenant_id, room_id, apartment_id, moving_id, status, tenant_status, is_renewal, "
               "agreement_type_code, move_in_date, moveout_date, moveout_plans_date, effective_moveout_date, "
               "occupancy_start, occupancy_end, cancel_flag, rent, nationality_code, prefecture, municipality")
    with admin.cursor() as cur:
        cur.execute(f"CREATE TEMPORARY TABLE `{silver}`.bench_offsets (n INT PRIMARY KEY)")
        cur.execute(f"INSERT INTO `{silver}`.bench_offsets VALUES " + ",".join(f"({n})" for n in range(1, HISTORY_DAYS)))
        for low in range(1, HISTORY_DAYS, CHUNK_DAYS):
            high = min(low + CHUNK_DAYS - 1, HISTORY_DAYS - 1)
            day = "DATE_SUB(b.snapshot_date, INTERVAL o.n DAY)"
            upcoming = f"b.move_in_date > {day} AND b.status IN (6, 7)"
            cur.execute(
                f"INSERT INTO `{silver}`.tenant_room_snapshot_daily ({columns}) "
                f"SELECT {day}, b.tenant_id, b.room_id, b.apartment_id, b.moving_id, "
                f"CASE WHEN {upcoming} THEN 5 ELSE b.status END, "
                f"CASE WHEN {upcoming} THEN 5 ELSE b.tenant_status END, b.is_renewal, b.agreement_type_code, "
                "b.move_in_date, b.moveout_date, b.moveout_plans_date, b.effective_moveout_date, "
                "b.occupancy_start, b.occupancy_end, b.cancel_flag, b.rent, b.nationality_code, b.prefecture, b.municipality "
                f"FROM `{silver}`.tenant_room_snapshot_daily b JOIN `{silver}`.bench_offsets o "
                "ON o.n BETWEEN %s AND %s WHERE b.snapshot_date = %s",
                (low, high, base_day))
            admin.commit()
        cur.execute(f"DROP TEMPORARY TABLE `{silver}`.bench_offsets")


def upsert_kpis(cfg) -> None:
    from tokyobeta.io import mysql
    from tokyobeta.transform import kpi

    with mysql.connection(cfg.mysql_conn_id) as conn:
        kpi.upsert(conn, cfg.schemas(), cfg.include_path, cfg.kpi_lookback_days, cfg.kpi_forward_days)


def run_daily_transformations(cfg, day: date) -> tuple[list[tuple[str, float]], float]:
    """The DAG's dbt_silver, dbt_gold and upsert_kpis tasks for `day`, in order, timed."""
    import logging

    from airflow.models import DagBag

    from tokyobeta.ops.rundag import logical_date_for

    logging.getLogger("airflow").setLevel(logging.WARNING)
    dag = DagBag(include_examples=False).dags["tokyobeta_daily_etl"]
    part = dag.partial_subset(task_ids_or_regex=DBT_TASKS, include_upstream=False, include_downstream=False)
    log_path = Path(os.environ.get("TOKYOBETA_LOCAL", ".local")) / "logs" / "bench-dbt.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    print(f"running {len(part.tasks)} tasks of tokyobeta_daily_etl for {day}; their logs: {log_path}")
    started_at = datetime.now(timezone.utc)
    started = time.monotonic()
    with output_to(log_path):
        run = part.test(execution_date=logical_date_for(day, cfg.daily_schedule), run_conf={"dump_date": day.isoformat()})
    wall = time.monotonic() - started
    tis = run.get_task_instances()
    failed = [ti.task_id for ti in tis if ti.state != "success"]
    if failed:
        raise SystemExit(f"the daily transformations failed for {day}: {failed} (see the log above)")
    # dag.test runs the tasks one after the other and records when each ended (not when it
    # started), so a task took from the previous task's end to its own
    durations, previous_end = [], started_at
    for ti in sorted(tis, key=lambda t: t.end_date):
        durations.append((ti.task_id, (ti.end_date - previous_end).total_seconds()))
        previous_end = ti.end_date
    return durations, wall


@contextmanager
def output_to(path: Path):
    """Everything written to stdout/stderr (task logs, dbt's output) goes to `path` meanwhile."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with open(path, "w") as log:
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def report(durations: list[tuple[str, float]], wall: float, new_rows: int, load: tuple[float, float, float]) -> None:
    def total(prefix: str) -> float:
        return sum(d for task, d in durations if task.startswith(prefix))

    print(f"\nincremental day ({new_rows:,} snapshot rows), tasks in the order they ran:")
    for task, seconds in durations:
        print(f"  {task:70} {seconds:6.2f} s")
    silver, gold, kpi = total("dbt_silver."), total("dbt_gold."), total("upsert_kpis")
    audit, publish = total("audit_candidates"), total("publish_silver_gold")
    print(f"\n  dbt silver ({sum(t.startswith('dbt_silver.') for t, _ in durations)} tasks)  {silver:6.2f} s")
    print(f"  dbt gold   ({sum(t.startswith('dbt_gold.') for t, _ in durations)} tasks)  {gold:6.2f} s")
    print(f"  audit (dbt test + KPI checks) {audit:6.2f} s")
    print(f"  publish (one RENAME TABLE)    {publish:6.2f} s")
    print(f"  KPI upsert           {kpi:6.2f} s")
    print(f"  total (wall clock)   {wall:6.2f} s   target {TARGET_SECONDS:.0f} s: {wall / TARGET_SECONDS:.0%} of budget "
          f"-> {'OK' if wall < TARGET_SECONDS else 'OVER BUDGET'}")
    print(f"  load average before the timed part: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    sys.exit(main())
