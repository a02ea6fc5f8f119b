"""The dump date of a run: the one date everything a run reads and writes is keyed by."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Mapping
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def parse_date(raw: Any, what: str = "date") -> date:
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    try:
        return date.fromisoformat(str(raw).strip())
    except ValueError:
        raise ValueError(f"{what} {raw!r} is not a date; write it as YYYY-MM-DD") from None


def dump_date_for(context: Mapping[str, Any]) -> date:
    """conf['dump_date'] (manual runs, backfill), else params['dump_date'], else the run's
    logical date in JST. Never the wall clock, so reruns and backfills are reproducible."""
    dag_run = context.get("dag_run")
    conf = (dag_run.conf if dag_run is not None else None) or {}
    params = context.get("params") or {}
    for source, mapping in (("conf", conf), ("params", params)):
        raw = mapping.get("dump_date")
        if raw:
            return parse_date(raw, f"{source}['dump_date']")
    logical: datetime = context["logical_date"]
    return logical.astimezone(TOKYO).date()


def nodash(day: date) -> str:
    return day.strftime("%Y%m%d")
