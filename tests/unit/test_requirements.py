"""The locks agree with MWAA 2.11.2's pins, and requirements.txt (what MWAA installs) agrees
with the lock the tests ran on."""

from __future__ import annotations

import re
from pathlib import Path

REQ = Path(__file__).resolve().parents[2] / "requirements"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?==([^\s;]+)")


def pins(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        m = PIN.match(line.strip())
        if m:
            out[m.group(1).lower().replace("_", "-")] = m.group(2)
    return out


def test_airflow_lock_agrees_with_mwaa_constraints():
    constraints = pins(REQ / "mwaa-2.11.2-constraints-py3.12.txt")
    lock = pins(REQ / "airflow.lock")
    assert lock["apache-airflow"] == "2.11.2"
    disagree = {name: (v, constraints[name]) for name, v in lock.items() if name in constraints and constraints[name] != v}
    assert disagree == {}


def test_essential_constraints_hold():
    essential = pins(REQ / "mwaa-2.11.2-essential-constraints.txt")
    lock = pins(REQ / "airflow.lock")
    assert {n: lock[n] for n in essential if n in lock} == {n: v for n, v in essential.items() if n in lock}


def test_mwaa_requirements_match_the_lock():
    text = (REQ.parent / "requirements.txt").read_text()
    assert re.search(r'^--constraint "https://raw\.githubusercontent\.com/apache/airflow/constraints-2\.11\.2/'
                     r'constraints-3\.12\.txt"$', text, re.M)
    lock = pins(REQ / "airflow.lock")
    requested = pins(REQ.parent / "requirements.txt")
    assert requested and {n: lock.get(n) for n in requested} == requested


def test_dbt_lock_is_dbt_17_with_mysql_adapter():
    lock = pins(REQ / "dbt.lock")
    assert lock["dbt-core"].startswith("1.7.")
    assert lock["dbt-mysql"] == "1.7.0"
