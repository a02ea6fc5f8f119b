"""The venvs a test run uses belong to one Python, as on MWAA, where startup.sh builds dbt's
venv with the python3 that runs Airflow: `make test` on the default one, `make test-py312` on
3.12 (MWAA 2.11.2's)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def python_of(venv_executable: str) -> tuple[int, int]:
    python = Path(venv_executable).parent / "python"
    out = subprocess.run([str(python), "-c", "import sys; print(*sys.version_info[:2])"],
                         capture_output=True, text=True, check=True).stdout
    major, minor = out.split()
    return int(major), int(minor)


def test_pytest_runs_in_the_airflow_venv_the_environment_names():
    # tests/conftest.py refuses a run whose Python is not the declared TOKYOBETA_PYTHON_LANE.
    assert Path(sys.executable).parent == Path(os.environ["VENV_AIRFLOW"]) / "bin"


def test_dbt_is_the_lane_venvs_and_runs_on_the_python_airflow_runs_on():
    dbt = os.environ["DBT_EXECUTABLE_PATH"]
    assert Path(dbt) == Path(os.environ["VENV_DBT"]) / "bin" / "dbt"
    assert python_of(dbt) == sys.version_info[:2]
