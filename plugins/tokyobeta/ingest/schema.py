"""Checks a dump's CREATE TABLE for a contract table against the contract (DESIGN section 2).

Drift is a quarantine reason found before a single row is loaded, not a crash in dbt later.
Pure: parses the statement text, executes nothing.
"""

from __future__ import annotations

import re

from tokyobeta import contract

_COLUMN = re.compile(r"^\s*`((?:[^`]|``)+)`\s+([a-zA-Z]+)")
_FAMILIES = {
    contract.INTEGER: {"tinyint", "smallint", "mediumint", "int", "integer", "bigint", "bit", "bool", "boolean"},
    contract.TEXT: {"char", "varchar", "tinytext", "text", "mediumtext", "longtext", "enum", "set"},
    contract.DATE: {"date"},
    contract.DATETIME: {"datetime", "timestamp"},
    contract.DECIMAL: {"decimal", "numeric", "float", "double"},
}


def columns(create_table: str) -> dict[str, str]:
    """Column name -> base SQL type (lower case) of a CREATE TABLE statement."""
    body = create_table.split("(", 1)[1] if "(" in create_table else ""
    found: dict[str, str] = {}
    for line in body.splitlines():
        m = _COLUMN.match(line)
        if m:
            found[m.group(1).replace("``", "`")] = m.group(2).lower()
    return found


def drift(table: str, create_table: str) -> list[str]:
    """Every way the statement departs from the contract; empty when it conforms."""
    expected = contract.CONTRACT_TABLES[table]
    actual = columns(create_table)
    problems = []
    for name, family in expected.items():
        if name not in actual:
            problems.append(f"{table}.{name} is missing")
        elif actual[name] not in _FAMILIES[family]:
            problems.append(f"{table}.{name} is {actual[name]}, the contract expects a {family} type")
    return problems
