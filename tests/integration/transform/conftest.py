"""A warehouse for the transformation tests: fresh test_ schemas, staging loaded directly (from
the story fixture or the sample generator), dbt run through the dbt virtualenv with the
profile in include/dbt, and the KPI upsert. dbt writes its target/ and logs/ to a temporary
folder so the project's own target (the manifest cosmos renders from) is never touched."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from support import story as story_mod
from support.db import checksums


class Warehouse:
    def __init__(self, admin, cfg, work_dir: Path):
        self.admin, self.cfg, self.work_dir = admin, cfg, work_dir
        self.schemas = cfg.schemas()
        self.project_dir = cfg.dbt_project_path
        self._processes_started = 0  # names each started dbt's own target/ and logs/

    def reset(self) -> None:
        with self.admin.cursor() as cur:
            for name in ("staging", "silver", "gold", "silver_candidate", "gold_candidate"):
                cur.execute(f"DROP DATABASE IF EXISTS `{self.schemas[name]}`")
                cur.execute(f"CREATE DATABASE `{self.schemas[name]}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")

    def load_story(self, story: dict[str, Any], day: date) -> None:
        from tokyobeta.sample import staging

        staging.load_rows(self.admin, self.schemas, self.cfg.include_path, day, story_mod.tables(story, day))

    def load_sample(self, day: date, scale: float = 0.05) -> dict[str, int]:
        from tokyobeta.sample import staging

        return staging.build_from_sample(self.admin, self.schemas, self.cfg.include_path, day, scale=scale, seed=7)

    def dbt(self, *args: str, check: bool = True, env: dict[str, str] | None = None) -> dict[str, Any]:
        """Runs dbt; returns {"returncode", "output", "results": run_results.json (or sources.json)}."""
        target = self.work_dir / "target"
        cmd = self._command(args, target)
        env = self._env(env)
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.project_dir)
        if proc.returncode == -signal.SIGSEGV:
            # Connector/Python 8.4's C extension (dbt-mysql's driver) has segfaulted while
            # connecting (profiles.yml now uses one thread, which avoids the race we saw); in the
            # DAG the task's retry covers it (the day's transaction rolls back)
            warnings.warn(f"dbt {' '.join(args)} crashed with SIGSEGV; running it once more")
            proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=self.project_dir)
        if check and proc.returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}")
        artifact = target / ("sources.json" if args[:2] == ("source", "freshness") else "run_results.json")
        results = json.loads(artifact.read_text()) if artifact.exists() else {}
        if artifact.exists():
            artifact.unlink()
        return {"returncode": proc.returncode, "output": proc.stdout, "results": results}

    def dbt_started(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        """dbt started in its own process with its own target/ and logs/ (output: stdout)."""
        self._processes_started += 1
        n = self._processes_started
        cmd = self._command(args, self.work_dir / f"target-{n}", logs=self.work_dir / f"logs-{n}")
        return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                env=self._env(env), cwd=self.project_dir)

    def dbt_side_by_side(self, *selections: str, env: dict[str, str] | None = None) -> dict[str, tuple[int, str]]:
        """`dbt run --select S` for every S at once, each in its own process (as the DAG's parallel
        model tasks run); returns S -> (returncode, output)."""
        procs = {selection: self.dbt_started("run", "--select", selection, env=env) for selection in selections}
        outputs = {selection: proc.communicate()[0] for selection, proc in procs.items()}  # never blocks on a full pipe
        return {selection: (procs[selection].returncode, output) for selection, output in outputs.items()}

    def _command(self, args, target: Path, logs: Path | None = None) -> list[str]:
        return [self.cfg.dbt_executable_path, *args, "--project-dir", str(self.project_dir),
                "--profiles-dir", str(self.project_dir), "--target", "local",
                "--target-path", str(target), "--log-path", str(logs or self.work_dir / "logs")]

    @staticmethod
    def _env(extra: dict[str, str] | None) -> dict[str, str]:
        return {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", **(extra or {})}

    @staticmethod
    def statuses(result: dict[str, Any]) -> dict[str, str]:
        """unique_id -> status of every node a dbt run_results.json reports."""
        return {r["unique_id"]: r["status"] for r in result["results"]["results"]}

    def kpi(self, lookback: int, forward: int) -> dict[str, Any]:
        from tokyobeta.io import mysql
        from tokyobeta.transform import kpi

        with mysql.connection(self.cfg.mysql_conn_id) as conn:
            return kpi.upsert(conn, self.schemas, self.cfg.include_path, lookback, forward)

    def rows(self, sql: str, args: Any = None) -> list[tuple]:
        with self.admin.cursor() as cur:
            cur.execute(sql.format(**self.schemas), args)
            return [tuple(r) for r in cur.fetchall()]

    def checksums(self, *layers: str) -> dict[str, dict[str, int]]:
        return {layer: checksums(self.admin, self.schemas[layer]) for layer in layers}


@pytest.fixture(scope="module")
def warehouse(cfg, tmp_path_factory):
    from tokyobeta.io import mysql

    admin = mysql.connect(params={
        "host": os.environ["MYSQL_HOST"], "port": int(os.environ["MYSQL_PORT"]),
        "user": os.environ["MYSQL_ADMIN_USER"], "password": os.environ.get("MYSQL_ADMIN_PASSWORD", "")})
    try:
        wh = Warehouse(admin, cfg, tmp_path_factory.mktemp("dbt"))
        wh.reset()
        yield wh
    finally:
        admin.close()
