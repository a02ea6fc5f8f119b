"""Both release bundles installed on CPython 3.12 into a stand-in of MWAA 2.11.2's image (a
fresh venv holding what requirements/mwaa-2.11.2-image.txt names, at MWAA's constraints), the
way MWAA installs them: requirements.txt with pip, plugins.zip unzipped into
$AIRFLOW_HOME/plugins, startup.sh sourced. The private bundle does it with every package
registry out of reach, which proves the bundle alone suffices."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from support import mwaa_image as image
from tokyobeta.ops import release

pytestmark = pytest.mark.slow

DBT_ENV = {"DBT_SEND_ANONYMOUS_USAGE_STATS": "False", "DBT_VERSION_CHECK": "False"}
STARTUP_PROBE = 'source "$1"; echo "--- after startup.sh"; echo "DBT_EXECUTABLE_PATH=${DBT_EXECUTABLE_PATH:-}"'


def pip(python: Path, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(python), "-m", "pip", *args], capture_output=True, text=True, env=env)


def assert_parsed(parsed: dict, bundle: Path, plugins: Path) -> None:
    assert parsed["errors"] == {}
    assert parsed["package"].startswith(str(plugins)), parsed["package"]
    dag_files = json.loads((bundle / "RELEASE.json").read_text())["dags"]
    assert [Path(f).name for f in parsed["files"]] == dag_files
    assert "tokyobeta_daily_etl" in parsed["dags"]


def test_public_bundle_installs_on_312_with_pip_check_clean_and_every_dag_parses(bundle, mwaa_image, tmp_path, repo):
    requirements = (bundle / "requirements.txt").read_text()
    # MWAA reads the constraints from this URL (unreachable here): the checked-in copy stands
    # in for it, and the copy names that URL as its source.
    url = re.search(r'^--constraint "(\S+)"$', requirements, re.M).group(1)
    assert url == release.CONSTRAINTS_URL
    copy = repo / "requirements" / release.CONSTRAINTS
    assert f"# {url}\n" in copy.read_text()
    local = tmp_path / "requirements.txt"
    local.write_text(requirements.replace(url, str(copy)))

    python = image.copy_image(mwaa_image, tmp_path / "venv")
    env = image.registry_env()
    installed = pip(python, "install", "--quiet", "-r", str(local), env=env)
    assert installed.returncode == 0, installed.stderr[-4000:]
    check = pip(python, "check", env=env)
    assert check.returncode == 0, check.stdout + check.stderr

    home = tmp_path / "usr-local-airflow"
    plugins = image.unzip_plugins(bundle, home)
    assert_parsed(image.parse_dags(python, bundle, home, os.environ["DBT_EXECUTABLE_PATH"], env), bundle, plugins)


@pytest.fixture(scope="module")
def offline(private_bundle, mwaa_image, tmp_path_factory):
    """The private bundle installed offline into a fresh image, and startup.sh sourced twice
    (a new component, then a restart), both with the registries out of reach."""
    root = tmp_path_factory.mktemp("private")
    home = root / "usr-local-airflow"
    plugins = image.unzip_plugins(private_bundle, home)
    # MWAA unzips into /usr/local/airflow/plugins; here AIRFLOW_HOME stands in for /usr/local/airflow.
    requirements = root / "requirements.txt"
    requirements.write_text((private_bundle / "requirements.txt").read_text()
                            .replace(release.MWAA_PLUGINS_DIR, str(plugins)))
    python = image.copy_image(mwaa_image, root / "venv")
    env = image.offline_env()
    started = time.perf_counter()
    installed = pip(python, "install", "-r", str(requirements), env=env)
    install_s = time.perf_counter() - started
    runs = []
    for _ in range(2):
        started = time.perf_counter()
        out = subprocess.run(["bash", "-c", STARTUP_PROBE, "startup", str(private_bundle / "startup.sh")],
                             capture_output=True, text=True, timeout=300,
                             env={**env, "AIRFLOW_HOME": str(home), "MWAA_AIRFLOW_COMPONENT": "worker",
                                  "TOKYOBETA_PYTHON": str(image.python312())})
        runs.append((out, time.perf_counter() - started))
    print(f"\nprivate bundle: plugins.zip {(private_bundle / 'plugins.zip').stat().st_size / 1e6:.1f} MB; "
          f"requirements install {install_s:.1f} s; startup.sh cold {runs[0][1]:.1f} s, restart {runs[1][1]:.1f} s")
    return {"python": python, "env": env, "home": home, "plugins": plugins, "installed": installed,
            "cold": runs[0][0], "restart": runs[1][0]}


def test_private_requirements_install_with_no_registry_and_pip_check_is_clean(offline):
    assert offline["installed"].returncode == 0, offline["installed"].stdout[-3000:] + offline["installed"].stderr[-3000:]
    check = pip(offline["python"], "check", env=offline["env"])
    assert check.returncode == 0, check.stdout + check.stderr
    shown = pip(offline["python"], "show", "astronomer-cosmos", "mysqlclient", "pycountry", "aenum", env=offline["env"])
    assert shown.returncode == 0 and shown.stdout.count("Name: ") == 4, shown.stderr


def test_the_registries_really_were_out_of_reach(offline, tmp_path, repo):
    """Negative controls in the same environment: a package the bundle lacks does not install,
    not even with PIP_NO_INDEX dropped (the index URL answers nobody, no pip.conf adds links),
    and uv is offline too."""
    python, env = offline["python"], offline["env"]
    absent = pip(python, "install", "--dry-run", "pyfiglet", env=env)
    assert absent.returncode != 0 and "pyfiglet" in absent.stderr
    no_flag = {k: v for k, v in env.items() if k != "PIP_NO_INDEX"}
    reach = pip(python, "install", "--dry-run", "--retries", "0", "--timeout", "3", "pyfiglet", env=no_flag)
    assert reach.returncode != 0 and "127.0.0.1" in reach.stdout + reach.stderr, reach.stdout + reach.stderr
    uv = subprocess.run([os.environ["UV"], "pip", "install", "--dry-run", "--python", str(python), "pyfiglet"],
                        capture_output=True, text=True, env=env)
    assert uv.returncode != 0, uv.stdout + uv.stderr


def test_every_dag_of_the_private_bundle_parses_offline(offline, private_bundle):
    dbt = offline["home"] / "dbt_venv" / "bin" / "dbt"
    parsed = image.parse_dags(offline["python"], private_bundle, offline["home"], str(dbt), offline["env"])
    assert_parsed(parsed, private_bundle, offline["plugins"])


def test_startup_builds_dbt_from_the_bundled_wheels_offline_and_a_restart_builds_nothing(offline):
    cold, restart = offline["cold"], offline["restart"]
    assert cold.returncode == 0, cold.stderr
    assert f"from the bundle's wheels in {offline['plugins'] / 'wheels' / 'dbt'}" in cold.stdout, cold.stdout + cold.stderr
    assert "dbt venv ready" in cold.stdout, cold.stdout + cold.stderr
    assert "is up to date" in restart.stdout and "building" not in restart.stdout
    dbt = offline["home"] / "dbt_venv" / "bin" / "dbt"
    assert f"DBT_EXECUTABLE_PATH={dbt}" in cold.stdout.split("--- after startup.sh", 1)[1]


def test_offline_dbt_is_the_locked_one_and_parses_the_bundled_project(offline, private_bundle, tmp_path):
    dbt = offline["home"] / "dbt_venv" / "bin" / "dbt"
    env = {**offline["env"], **DBT_ENV}
    version = subprocess.run([str(dbt), "--version"], capture_output=True, text=True, env=env, check=True).stdout
    locked = dict(line.split("==") for line in (private_bundle / "startup.sh").read_text().splitlines()
                  if line.startswith(("dbt-core==", "dbt-mysql==")))
    assert f"installed: {locked['dbt-core']}" in version and f"mysql:   {locked['dbt-mysql']}" in version
    venv_python = subprocess.run([str(dbt.parent / "python"), "-c", "import sys; print(sys.version_info[:2])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
    assert venv_python == "(3, 12)"
    project = tmp_path / "dbt"
    shutil.copytree(private_bundle / "dags" / "include" / "dbt", project)
    shutil.rmtree(project / "target")
    subprocess.run([str(dbt), "parse", "--project-dir", str(project), "--profiles-dir", str(project), "--quiet"],
                   env=env, cwd=project, check=True)
    assert "model.tokyobeta.occupancy_by_apartment" in (project / "target" / "manifest.json").read_text()


def test_private_bundle_layout(private_bundle, repo):
    from tokyobeta.ops import wheels

    info = json.loads((private_bundle / "RELEASE.json").read_text())
    assert info["network"] == "private"
    # another release than the public bundle of the same commit: neither overwrites the other
    assert info["release"] == f"{info['commit']}-private" and private_bundle.name == f"tokyobeta-{info['release']}"
    import zipfile
    with zipfile.ZipFile(private_bundle / "plugins.zip") as zf:
        names = zf.namelist()
    dbt = {n.split("/")[-1] for n in names if n.startswith(release.DBT_WHEELS + "/")}
    airflow = {n.split("/")[-1] for n in names if n.startswith(release.AIRFLOW_WHEELS + "/")}
    assert f"wheels/{release.CONSTRAINTS}" in names
    assert all(wheels.wheel_fits(n) for n in dbt | airflow)
    assert len(dbt) == len(wheels.read_lock(repo / "requirements" / "dbt.lock"))
    assert {n.split("-")[0] for n in airflow} >= {"astronomer_cosmos", "pycountry", "aenum", "mysqlclient"}
    assert not {n.split("-")[0] for n in airflow} & {"apache_airflow", "boto3", "apache_airflow_providers_amazon"}
