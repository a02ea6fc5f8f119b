"""The daily DAG's SLA, "gold published by HH:MM JST on the dump day", as the task `sla`
timedelta that Airflow 2's SLA check needs. Pure: croniter only.

How Airflow 2.11 checks an SLA (``DagFileProcessor.manage_slas``): for a task with an ``sla``
it takes the newest run in which that task succeeded or was skipped, asks the timetable for
the next slot after that run's data interval, and then - inside the loop, *before* the first
comparison - steps once more. A miss is recorded for slot S when ``S + sla < now``. With
``CronTriggerTimetable`` a run's data interval has zero length, so for a late run at slot D
the slot compared is the one after it, N(D): the miss fires when ``N(D) + sla < now`` and is
recorded under N(D). A deadline on D's own day therefore needs ``sla = deadline(D) - N(D)``,
which is negative: -17:30 for a 02:00 schedule and an 08:30 deadline. A "natural" +6:30 would
fire a whole day late.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from croniter import croniter

TOKYO = ZoneInfo("Asia/Tokyo")
DAY = timedelta(days=1)


class SlaConfigError(ValueError):
    pass


def next_slot(cron: str, after: datetime) -> datetime:
    return croniter(cron, after.astimezone(TOKYO)).get_next(datetime)


def previous_slot(cron: str, before: datetime) -> datetime:
    return croniter(cron, before.astimezone(TOKYO)).get_prev(datetime)


def deadline_after(slot: datetime, deadline: time) -> datetime:
    """The first `deadline` o'clock (JST) after the run's slot: the same day for 02:00 and 08:30."""
    local = slot.astimezone(TOKYO)
    candidate = datetime.combine(local.date(), deadline, tzinfo=TOKYO)
    return candidate if candidate > local else candidate + DAY


def _require_daily(cron: str, reference: datetime) -> datetime:
    """The first slot after `reference`, after checking the schedule runs exactly once a day."""
    if not croniter.is_valid(cron):
        raise SlaConfigError(f"DAILY_SCHEDULE {cron!r} is not a cron expression")
    first = next_slot(cron, reference)
    slots = [first]
    for _ in range(7):
        slots.append(next_slot(cron, slots[-1]))
    gaps = {later - earlier for earlier, later in zip(slots, slots[1:])}
    if gaps != {DAY}:
        raise SlaConfigError(f"SLA_GOLD_DEADLINE needs DAILY_SCHEDULE to run once a day at a fixed time; "
                             f"{cron!r} does not (gaps {sorted(str(g) for g in gaps)}). Fix DAILY_SCHEDULE "
                             "or measure the SLA another way.")
    return first


def gold_sla(cron: str, deadline: time, reference: date | None = None) -> timedelta:
    """The task `sla` that makes Airflow flag a run still unfinished at `deadline` on its dump day."""
    start = datetime.combine(reference or date(2026, 1, 1), time(0, 0), tzinfo=TOKYO)
    slot = _require_daily(cron, start)
    if slot.timetz().replace(tzinfo=None) == deadline:
        raise SlaConfigError(f"SLA_GOLD_DEADLINE {deadline:%H:%M} equals the DAILY_SCHEDULE slot: "
                             "set a deadline after the run starts")
    sla = deadline_after(slot, deadline) - next_slot(cron, slot)
    # Airflow skips a falsy sla (timedelta(0)) without a word; a deadline exactly one day
    # after the slot would produce it.
    if not sla:
        raise SlaConfigError("SLA_GOLD_DEADLINE/DAILY_SCHEDULE give a zero sla, which Airflow ignores")
    return sla


def late_slot(cron: str, recorded_under: datetime) -> datetime:
    """The slot of the run that actually missed, from the slot Airflow records the miss under."""
    return previous_slot(cron, recorded_under)
