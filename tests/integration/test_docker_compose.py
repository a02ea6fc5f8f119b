"""docker-compose.yaml cannot run here (no Docker engine), so its syntax is checked with
Debian's docker-compose and its names, ports and environment against config/local.env, the
file the native local stack uses."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
import yaml

AIRFLOW_SERVICES = {"airflow-init", "airflow-webserver", "airflow-scheduler"}


def local_env(repo) -> dict[str, str]:
    env = {}
    for line in (repo / "config" / "local.env").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key] = value
    return env


@pytest.fixture(scope="module")
def compose(repo) -> dict:
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is not installed: `make bootstrap` installs Debian's docker-compose")
    out = subprocess.run(["docker-compose", "-f", str(repo / "docker-compose.yaml"), "config"],
                         capture_output=True, text=True, cwd=repo)
    assert out.returncode == 0, out.stderr
    return yaml.safe_load(out.stdout)


def published(service: dict) -> set[int]:
    return {int(p["published"]) if isinstance(p, dict) else int(str(p).split(":")[0]) for p in service.get("ports", [])}


def test_services(compose):
    assert set(compose["services"]) == {"mysql", "moto", "postgres"} | AIRFLOW_SERVICES


def test_ports_match_local_env(compose, repo):
    env = local_env(repo)
    services = compose["services"]
    assert published(services["mysql"]) == {int(env["MYSQL_PORT"])}
    assert published(services["moto"]) == {int(env["MOTO_PORT"])}
    assert env["MOTO_PORT"] in services["moto"]["command"]
    assert published(services["postgres"]) == {int(env["AIRFLOW_DB_PORT"])}
    assert published(services["airflow-webserver"]) == {int(env["AIRFLOW_WEBSERVER_PORT"])}
    assert services["postgres"]["environment"]["POSTGRES_DB"] == env["AIRFLOW_DB_NAME"]
    assert services["postgres"]["environment"]["POSTGRES_USER"] == env["AIRFLOW_DB_USER"]


def test_airflow_services_get_every_local_setting(compose, repo):
    env = local_env(repo)
    hosts = {"MYSQL_HOST": "mysql", "MOTO_HOST": "moto", "AIRFLOW_DB_HOST": "postgres"}
    for name in AIRFLOW_SERVICES:
        environment = compose["services"][name]["environment"]
        missing = set(env) - set(environment)
        assert missing == set(), f"{name} lacks {missing}"
        changed = {k for k in env if str(environment[k]) != env[k]}
        assert changed == set(hosts), f"{name} overrides {changed - set(hosts)} of config/local.env"
        for key, service in hosts.items():
            assert environment[key] == service and service in compose["services"]


def test_images_match_the_pins(repo, compose):
    lock = (repo / "requirements" / "airflow.lock").read_text()
    moto = re.search(r"^moto==(\S+)", lock, re.M).group(1)
    assert compose["services"]["moto"]["image"] == f"motoserver/moto:{moto}"
    assert re.search(r"^FROM apache/airflow:2\.11\.2-python3\.11$", (repo / "docker" / "Dockerfile").read_text(), re.M)
