"""How long the release bundle's startup.sh takes on an MWAA component, against MWAA's 5-minute
limit for the startup script. Builds a bundle, then sources its startup.sh (as MWAA does) in a
scratch AIRFLOW_HOME standing in for /usr/local/airflow:
  cold, no pip cache:   a new component with an empty disk (every wheel downloaded)
  cold, warm pip cache: the dbt venv built again from cached wheels
  restart:              the venv is in place and matches the lock (the usual restart)
Usage: make bench-startup  (scripts/with-env.sh python scripts/bench/startup_time.py)"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

LIMIT_S = 300.0
REPO = Path(__file__).resolve().parents[2]


def source(script: Path, home: Path, cache: Path) -> float:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "PIP_CACHE_DIR": str(cache), "MWAA_AIRFLOW_COMPONENT": "worker"}
    env.pop("DBT_EXECUTABLE_PATH", None)
    started = time.perf_counter()
    out = subprocess.run(["bash", "-c", 'source "$1" && test -x "$DBT_EXECUTABLE_PATH"', "bench", str(script)],
                         env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if out.returncode != 0:
        sys.exit(f"startup.sh failed:\n{out.stdout}\n{out.stderr}")
    return elapsed


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="tokyobeta-bench-startup-") as scratch:
        root = Path(scratch)
        subprocess.run([sys.executable, "-m", "tokyobeta.cli", "package", "--out", str(root / "dist")], check=True,
                       capture_output=True, cwd=REPO)
        [bundle] = [p for p in (root / "dist").iterdir() if p.name.startswith("tokyobeta-")]
        script, cache = bundle / "startup.sh", root / "pip-cache"
        rows = [("cold, no pip cache", source(script, root / "a", cache)),
                ("cold, warm pip cache", source(script, root / "b", cache)),
                ("restart, venv in place", source(script, root / "b", cache))]
    print(f"startup.sh of the release bundle, MWAA limit {LIMIT_S:.0f} s ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f})")
    for name, seconds in rows:
        print(f"  {name:24} {seconds:7.2f} s   {seconds / LIMIT_S:6.2%} of the limit")


if __name__ == "__main__":
    main()
