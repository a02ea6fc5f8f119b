"""The hand-made fixture worlds of tests/fixtures/transform/ (story.yml; reconcile_story.yml for
`tokyobeta reconcile`), as the staging tables of one dump day (rules in story.yml's header)."""

from __future__ import annotations

from datetime import date, datetime, time
from pathlib import Path
from typing import Any

import yaml

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "transform"
STORY = FIXTURES / "story.yml"
_EPOCH = datetime(2024, 1, 1, 9, 0)

_MOVING_COLUMNS = {"agreement": "moving_agreement_type", "move_in": "move_in_date", "moveout": "moveout_date",
                   "moveout_plans": "moveout_plans_date", "cancel": "cancel_flag"}


def load(path: Path = STORY) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _as_of(row: dict[str, Any], day: date) -> tuple[dict[str, Any], datetime | None]:
    """The row with its changes up to `day` applied, and when it last changed."""
    state = {k: v for k, v in row.items() if k != "changes"}
    changed = None
    for when, change in sorted((row.get("changes") or {}).items()):
        if when <= day:
            state.update(change)
            changed = datetime.combine(when, time(12, 0))
    return state, changed


def tables(story: dict[str, Any], day: date) -> dict[str, tuple[list[str], list[tuple]]]:
    """Staging rows of the dump of `day`: {table: (columns, rows)} plus the enrichment maps."""
    apartments = [(a["id"], a["name"], a["address"], a["prefecture"], a["municipality"], _EPOCH, _EPOCH)
                  for a in story["apartments"]]
    apartment_of = {r["id"]: r["apartment_id"] for r in story["rooms"]}
    rooms = [(r["id"], r["apartment_id"], str(r["id"]), 50000, 3, _EPOCH, _EPOCH) for r in story["rooms"]]
    tenants, present = [], set()
    for row in story["tenants"]:
        if row["created_at"].date() > day:
            continue
        state, changed = _as_of(row, day)
        present.add(state["id"])
        tenants.append((state["id"], state["status"], f"Tenant {state['id']}", state["nationality"],
                        state["created_at"], max(state["created_at"], changed or state["created_at"])))
    movings = []
    for row in story["movings"]:
        if row["tenant_id"] not in present or row.get("from", date.min) > day:
            continue
        state, changed = _as_of(row, day)
        values = {column: state.get(key) for key, column in _MOVING_COLUMNS.items()}
        created = datetime.combine(state.get("from") or date(2024, 1, 1), time(9, 0))
        movings.append((state["id"], state["tenant_id"], apartment_of[state["room_id"]], state["room_id"],
                        values["moving_agreement_type"], values["move_in_date"], values["moveout_date"],
                        values["moveout_plans_date"], values["cancel_flag"] or 0, 50000, created, changed or created))
    return {
        "apartments": (["id", "name", "address", "prefecture", "municipality", "created_at", "updated_at"], apartments),
        "rooms": (["id", "apartment_id", "room_number", "rent", "status", "created_at", "updated_at"], rooms),
        "tenants": (["id", "status", "full_name", "nationality", "created_at", "updated_at"], tenants),
        "movings": (["id", "tenant_id", "apartment_id", "room_id", "moving_agreement_type", "move_in_date",
                     "moveout_date", "moveout_plans_date", "cancel_flag", "rent", "created_at", "updated_at"], movings),
        "nationality_map": (["raw_value", "country_code", "label_en", "label_ja", "source"],
                            [(m["raw_value"], m["country_code"], m["label_en"], m["label_ja"], "rule")
                             for m in story["nationality_map"]]),
        "apartment_municipality_map": (["apartment_id", "prefecture", "municipality", "source"],
                                       [(m["apartment_id"], m["prefecture"], m["municipality"], "rule")
                                        for m in story["apartment_municipality_map"]]),
    }
