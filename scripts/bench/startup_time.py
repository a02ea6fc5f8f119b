"""How long the release bundle's startup.sh takes on an MWAA component, against MWAA's 5-minute
limit for the startup script. Builds a bundle, then sources its startup.sh (as MWAA does) in a
scratch AIRFLOW_HOME standing in for /usr/local/airflow:
  cold, no pip cache:   a new component with an empty disk (every wheel downloaded)
  cold, warm pip cache: the dbt venv built again from cached wheels
  restart:              the venv is in place and matches the lock (the usual restart)
and the private-network bundle's startup.sh (dbt from the wheels in plugins.zip, CPython 3.12,
every package registry out of reach), on a new component and on a restart.
Usage: make bench-startup  (scripts/with-env.sh python scripts/bench/startup_time.py)"""

from __future__ import annotations

import os
import subprocess
import zipfile
import sys
import tempfile
import time
from pathlib import Path

LIMIT_S = 300.0
REPO = Path(__file__).resolve().parents[2]


def offline_env() -> dict[str, str]:
    """No registry: no index, an index URL nobody answers, no pip.conf (this machine's adds wheel folders)."""
    python312 = subprocess.run(["pyenv", "prefix", "3.12.1"], capture_output=True, text=True, check=True).stdout.strip()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_NO_INDEX": "1", "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_CONFIG_FILE": os.devnull,
            "TOKYOBETA_PYTHON": f"{python312}/bin/python3"}


def source(script: Path, home: Path, cache: Path, base: dict[str, str] | None = None) -> float:
    env = {**(base or os.environ), "AIRFLOW_HOME": str(home), "PIP_CACHE_DIR": str(cache),
           "MWAA_AIRFLOW_COMPONENT": "worker"}
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
        subprocess.run([sys.executable, "-m", "tokyobeta.cli", "package", "--private-network", "--out",
                        str(root / "dist-private")], check=True, capture_output=True, cwd=REPO)
        [private] = [p for p in (root / "dist-private").iterdir() if p.name.startswith("tokyobeta-")]
        with zipfile.ZipFile(private / "plugins.zip") as zf:
            zf.extractall(root / "p" / "plugins")
        offline = offline_env()
        rows += [("private, new component", source(private / "startup.sh", root / "p", root / "p-cache", offline)),
                 ("private, restart", source(private / "startup.sh", root / "p", root / "p-cache", offline))]
    print(f"startup.sh of the release bundle, MWAA limit {LIMIT_S:.0f} s ({os.cpu_count()} CPUs, "
          f"load {os.getloadavg()[0]:.2f})")
    for name, seconds in rows:
        print(f"  {name:24} {seconds:7.2f} s   {seconds / LIMIT_S:6.2%} of the limit")


if __name__ == "__main__":
    main()
