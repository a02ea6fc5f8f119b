"""The bundle's startup.sh, sourced as MWAA sources it, in a scratch AIRFLOW_HOME standing in
for /usr/local/airflow: it builds dbt's virtualenv, exports DBT_EXECUTABLE_PATH, skips the
build when nothing changed, and never breaks the shell that sourced it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

# What MWAA does: source the script in bash, then hand the exported environment to Airflow.
PROBE = 'source "$1"; echo "--- after startup.sh"; echo "DBT_EXECUTABLE_PATH=${DBT_EXECUTABLE_PATH:-}"; ' \
        'case $- in *e*) echo "errexit=on";; *) echo "errexit=off";; esac; ' \
        'type tokyobeta_build_dbt_venv >/dev/null 2>&1 && echo "functions=left" || echo "functions=gone"'


def source_startup(script: Path, home: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k != "DBT_EXECUTABLE_PATH"}
    return subprocess.run(["bash", "-c", PROBE, "startup", str(script)], capture_output=True, text=True,
                          env={**clean, "AIRFLOW_HOME": str(home), "MWAA_AIRFLOW_COMPONENT": "scheduler", **env},
                          timeout=300)


def exported(result: subprocess.CompletedProcess) -> dict[str, str]:
    after = result.stdout.split("--- after startup.sh\n", 1)[1]
    return dict(line.split("=", 1) for line in after.splitlines() if "=" in line)


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("usr-local-airflow")


@pytest.fixture(scope="module")
def first_start(bundle, airflow_home):
    return source_startup(bundle / "startup.sh", airflow_home)


def test_first_start_builds_the_dbt_venv_and_exports_its_dbt(first_start, airflow_home):
    assert first_start.returncode == 0, first_start.stderr
    assert "building dbt venv" in first_start.stdout and "dbt venv ready" in first_start.stdout
    values = exported(first_start)
    assert values["DBT_EXECUTABLE_PATH"] == str(airflow_home / "dbt_venv" / "bin" / "dbt")
    assert values["errexit"] == "off" and values["functions"] == "gone"


def test_the_dbt_venv_runs_on_the_python_that_runs_airflow(first_start, airflow_home):
    # On MWAA, python3 is Airflow's own (3.12 on 2.11.2); here it is the tests' venv's, so
    # `make test-py312` holds startup.sh to 3.12.
    out = subprocess.run([str(airflow_home / "dbt_venv" / "bin" / "python"), "-c",
                          "import sys; print(*sys.version_info[:2])"], capture_output=True, text=True, check=True)
    assert tuple(int(part) for part in out.stdout.split()) == sys.version_info[:2]


def test_the_built_dbt_is_the_locked_one_and_parses_the_bundled_project(first_start, airflow_home, bundle, tmp_path):
    dbt = airflow_home / "dbt_venv" / "bin" / "dbt"
    env = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DBT_VERSION_CHECK": "False"}
    version = subprocess.run([str(dbt), "--version"], capture_output=True, text=True, env=env, check=True).stdout
    locked = dict(line.split("==") for line in (bundle / "startup.sh").read_text().splitlines()
                  if line.startswith(("dbt-core==", "dbt-mysql==")))
    assert f"installed: {locked['dbt-core']}" in version and f"mysql:   {locked['dbt-mysql']}" in version
    project = tmp_path / "dbt"
    shutil.copytree(bundle / "dags" / "include" / "dbt", project)
    shutil.rmtree(project / "target")
    subprocess.run([str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"],
                   env=env, cwd=project, check=True)
    manifest = (project / "target" / "manifest.json").read_text()
    assert "model.tokyobeta.occupancy_by_apartment" in manifest


def test_a_restart_with_the_venv_in_place_builds_nothing(first_start, bundle, airflow_home):
    venv = airflow_home / "dbt_venv"
    stamp, dbt = venv / ".tokyobeta-lock-sha256", venv / "bin" / "dbt"
    before = (stamp.stat().st_mtime_ns, dbt.stat().st_ino)
    again = source_startup(bundle / "startup.sh", airflow_home)
    assert again.returncode == 0 and "is up to date" in again.stdout and "building" not in again.stdout
    assert (stamp.stat().st_mtime_ns, dbt.stat().st_ino) == before
    assert exported(again)["DBT_EXECUTABLE_PATH"] == str(dbt)


def test_a_venv_built_from_another_lock_is_rebuilt(first_start, bundle, airflow_home):
    stamp = airflow_home / "dbt_venv" / ".tokyobeta-lock-sha256"
    stamp.write_text("built-from-an-older-lock\n")
    again = source_startup(bundle / "startup.sh", airflow_home)
    assert again.returncode == 0 and "building dbt venv" in again.stdout, again.stdout + again.stderr
    assert stamp.read_text().strip() != "built-from-an-older-lock"


def test_a_failed_build_is_reported_and_the_sourcing_shell_goes_on(bundle, tmp_path):
    failed = source_startup(bundle / "startup.sh", tmp_path, TOKYOBETA_PYTHON=str(tmp_path / "no-python"))
    assert failed.returncode == 0
    assert "ERROR building the dbt venv" in failed.stderr
    values = exported(failed)
    assert values["DBT_EXECUTABLE_PATH"] == "" and values["errexit"] == "off"
