"""A CPython 3.12 virtualenv standing in for MWAA 2.11.2's image, and the environments the
bundle tests install into it with: MWAA's pip run, and the same run with every package
registry out of reach."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

UNREACHABLE_INDEX = "http://127.0.0.1:9/simple"
# DAG parsing in the image venv: Airflow's own settings, nothing from this checkout's venv.
_DROPPED = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")


def python312() -> Path:
    """CPython 3.12.1 of pyenv, MWAA 2.11.2's Python. Absent: the test fails and says so."""
    try:
        # scripts/env.sh's python312 (pyenv need not be on PATH in CI): one way to find it
        prefix = str(Path(subprocess.run(["bash", "-c", 'source scripts/env.sh && python312'], cwd=REPO,
                                         capture_output=True, text=True, check=True).stdout.strip()).parents[1])
    except (OSError, subprocess.CalledProcessError) as exc:
        pytest.fail(f"CPython 3.12.1 (MWAA 2.11.2's Python) not found: {getattr(exc, 'stderr', '') or exc}")
    python = Path(prefix) / "bin" / "python3"
    if not python.is_file():
        pytest.fail(f"{python} is missing: CPython 3.12.1 under pyenv is needed (`pyenv install 3.12.1`)")
    return python


def registry_env() -> dict[str, str]:
    """pip as MWAA runs it: PyPI, none of this machine's pip.conf (its find-links and local indexes)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PIP_", "UV_")) and k not in _DROPPED}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def offline_env() -> dict[str, str]:
    """Every registry out of reach for pip and uv: no index, an index URL nobody answers, no
    config file (this machine's adds find-links and local indexes), no find-links."""
    env = registry_env()
    env.update(PIP_NO_INDEX="1", PIP_INDEX_URL=UNREACHABLE_INDEX, UV_OFFLINE="1", UV_INDEX_URL=UNREACHABLE_INDEX,
               UV_NO_CONFIG="1")
    return env


def build_image(venv: Path, repo: Path, uv: str) -> Path:
    """apache-airflow 2.11.2 and the packages MWAA's image holds (requirements/mwaa-2.11.2-image.txt),
    at MWAA's constraints. uv installs them from its cache or the registry: this is the image, not
    what the bundle must carry."""
    subprocess.run([str(python312()), "-m", "venv", str(venv)], check=True)
    req = repo / "requirements"
    subprocess.run([uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"),
                    "-r", str(req / "mwaa-2.11.2-image.txt"), "-c", str(req / "mwaa-2.11.2-constraints-py3.12.txt")],
                   check=True, env={k: v for k, v in os.environ.items() if not k.startswith("UV_")})
    return venv


def copy_image(template: Path, dest: Path) -> Path:
    """A fresh image per test: pip in one test must not see what another installed. Tools are
    run as `python -m ...`, so the copy's console-script shebangs do not matter."""
    shutil.copytree(template, dest, symlinks=True)
    return dest / "bin" / "python"


def unzip_plugins(bundle: Path, airflow_home: Path) -> Path:
    plugins = airflow_home / "plugins"
    with zipfile.ZipFile(bundle / "plugins.zip") as zf:
        zf.extractall(plugins)
    return plugins


PARSE_PROBE = """
import json
from airflow.models import DagBag
import tokyobeta
bag = DagBag(include_examples=False)
print(json.dumps({"package": tokyobeta.__file__, "errors": {k: str(v) for k, v in bag.import_errors.items()},
                  "files": sorted({d.fileloc for d in bag.dags.values()}), "dags": sorted(bag.dag_ids)}))
"""


def parse_dags(python: Path, bundle: Path, airflow_home: Path, dbt: str, env: dict[str, str]) -> dict:
    """Every DAG of the bundle's dags folder, parsed in the image venv with the unzipped
    plugins.zip as MWAA lays them out."""
    plugins = airflow_home / "plugins"
    env = {**env, "AIRFLOW_HOME": str(airflow_home), "AIRFLOW__CORE__DAGS_FOLDER": str(bundle / "dags"),
           "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins), "PYTHONPATH": str(plugins),
           "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
           "AIRFLOW__COSMOS__CACHE_DIR": str(airflow_home / "cosmos-cache"),
           "INCLUDE_DIR": str(bundle / "dags" / "include"), "DBT_EXECUTABLE_PATH": dbt}
    out = subprocess.run([str(python), "-c", PARSE_PROBE], env=env, capture_output=True, text=True, cwd=airflow_home)
    assert out.returncode == 0, out.stderr[-4000:]
    return json.loads(out.stdout.strip().splitlines()[-1])
