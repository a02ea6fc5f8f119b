"""Prints how long each DAG file takes to import, in a fresh interpreter each time (no warm
caches from a previous parse), Airflow itself already imported:
  warm: plugins already loaded, as in the DAG processor (it loads them once at start)
  cold: the file's import also pays for loading Airflow's plugins (cosmos' docs view)
Target: under 2 s per file. Usage: scripts/with-env.sh python scripts/bench/dag_import_time.py"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

DAGS = Path(__file__).resolve().parents[2] / "dags"
RUNS = 3
CODE = """
import time, importlib.util, airflow, airflow.models, airflow.plugins_manager
if {warm}:
    airflow.plugins_manager.ensure_plugins_loaded()
spec = importlib.util.spec_from_file_location("dagfile", {path!r})
module = importlib.util.module_from_spec(spec)
t = time.perf_counter(); spec.loader.exec_module(module); print(time.perf_counter() - t)
"""


def measure(path: Path, warm: bool) -> list[float]:
    times = []
    for _ in range(RUNS):
        out = subprocess.run([sys.executable, "-c", CODE.format(path=str(path), warm=warm)],
                             capture_output=True, text=True, check=True)
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return times


def main() -> int:
    worst = 0.0
    for path in sorted(DAGS.glob("*.py")):
        for mode in ("warm", "cold"):
            times = measure(path, warm=mode == "warm")
            worst = max(worst, max(times))
            print(f"{path.name:32} {mode}: median {statistics.median(times):.3f} s  max {max(times):.3f} s  "
                  f"({max(times) / 2.0:.0%} of the 2 s budget)")
    return 0 if worst < 2.0 else 1


if __name__ == "__main__":
    sys.exit(main())
