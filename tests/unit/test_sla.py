"""The gold SLA arithmetic (ops/sla.py). The integration test drives Airflow's own SLA check
with these values; here: the formula, the edge cases and the configuration errors."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from tokyobeta.ops import sla
from tokyobeta.ops.sla import TOKYO


def jst(*args: int) -> datetime:
    return datetime(*args, tzinfo=TOKYO)


def test_default_schedule_and_deadline_give_minus_17h30():
    assert sla.gold_sla("0 2 * * *", time(8, 30)) == -timedelta(hours=17, minutes=30)


@pytest.mark.parametrize("cron, deadline", [("0 2 * * *", time(8, 30)), ("30 1 * * *", time(6, 0)),
                                            ("0 23 * * *", time(1, 15)), ("45 3 * * *", time(3, 50))])
def test_airflow_fires_exactly_at_the_deadline_of_the_dump_day(cron, deadline):
    """Replays manage_slas' loop: from the last good slot, step twice, compare slot + sla."""
    task_sla = sla.gold_sla(cron, deadline)
    last_good = sla.next_slot(cron, jst(2026, 6, 1))
    late = sla.next_slot(cron, last_good)
    expected_deadline = sla.deadline_after(late, deadline)

    def airflow_records_miss(now: datetime) -> list[datetime]:
        misses, info = [], sla.next_slot(cron, last_good)
        while info < now:
            info = sla.next_slot(cron, info)
            if info + task_sla < now:
                misses.append(info)
        return misses

    assert airflow_records_miss(expected_deadline - timedelta(seconds=1)) == []
    recorded = airflow_records_miss(expected_deadline + timedelta(seconds=1))
    assert len(recorded) == 1
    assert sla.late_slot(cron, recorded[0]) == late
    assert timedelta(0) < expected_deadline - late < timedelta(days=1)


def test_deadline_after_is_the_first_such_time_after_the_slot():
    assert sla.deadline_after(jst(2026, 11, 27, 2, 0), time(8, 30)) == jst(2026, 11, 27, 8, 30)
    assert sla.deadline_after(jst(2026, 11, 27, 23, 0), time(1, 0)) == jst(2026, 11, 28, 1, 0)


def test_late_slot_accepts_utc():
    from zoneinfo import ZoneInfo

    assert sla.late_slot("0 2 * * *", datetime(2026, 11, 27, 17, 0, tzinfo=ZoneInfo("UTC"))) == jst(2026, 11, 27, 2, 0)


@pytest.mark.parametrize("cron, deadline, message", [
    ("0 2 * * 1-5", time(8, 30), "once a day"),
    ("0 */6 * * *", time(8, 30), "once a day"),
    ("0 2 * *", time(8, 30), "not a cron expression"),
    ("0 2 * * *", time(2, 0), "equals the DAILY_SCHEDULE slot"),
])
def test_unusable_configurations_are_refused_with_the_knob_named(cron, deadline, message):
    with pytest.raises(sla.SlaConfigError, match=message):
        sla.gold_sla(cron, deadline)


def test_daily_dag_carries_the_sla_on_the_gold_task(monkeypatch):
    from tokyobeta import dagkit, settings

    monkeypatch.setenv("SLA_EMAILS", "oncall@example.test, data@example.test")
    args = dagkit.gold_sla_args(settings.Settings())
    assert args == {"sla": -timedelta(hours=17, minutes=30), "email": ["oncall@example.test", "data@example.test"],
                    "email_on_failure": False, "email_on_retry": False}
    monkeypatch.setenv("DAILY_SCHEDULE", "0 2 * * 1-5")
    with pytest.raises(settings.SettingError, match="DAILY_SCHEDULE"):
        dagkit.gold_sla_args(settings.Settings())
