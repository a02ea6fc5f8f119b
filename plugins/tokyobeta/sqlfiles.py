"""SQL lives in include/sql/. Files name schemas as ${staging}, ${gold}, ... so one spelling of
each schema (settings.schema) serves production, the demo and the tests."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Mapping


def render(path: Path, schemas: Mapping[str, str]) -> str:
    try:
        return Template(path.read_text(encoding="utf-8")).substitute(schemas)
    except KeyError as exc:
        raise KeyError(f"{path} names schema ${{{exc.args[0]}}}, which settings do not define") from None


def statements(sql: str) -> list[str]:
    """Split a file into statements at a ';' that ends a line (connections run one statement
    at a time: multi-statements are off)."""
    out: list[str] = []
    current: list[str] = []
    for line in sql.splitlines():
        stripped = line.strip()
        if not current and (not stripped or stripped.startswith("--")):
            continue
        current.append(line)
        if stripped.endswith(";"):
            out.append("\n".join(current).rstrip().rstrip(";"))
            current = []
    if any(line.strip() and not line.strip().startswith("--") for line in current):
        out.append("\n".join(current))
    return out


def run_file(conn, path: Path, schemas: Mapping[str, str], args: Mapping | None = None) -> None:
    with conn.cursor() as cur:
        for statement in statements(render(path, schemas)):
            # Only statements with placeholders go through %-formatting.
            cur.execute(statement, args if args and "%(" in statement else None)
