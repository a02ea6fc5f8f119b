"""The gold SLA through Airflow's own check: scheduled runs of the real daily DAG in the metadata
database, DagFileProcessor.manage_slas (what the scheduler's DAG processor runs), our
sla_miss_callback publishing to SNS on moto, and Airflow's SLA e-mail delivered through the
smtp_default connection to a real SMTP server (aiosmtpd) that demands its credentials.

The metadata database is this checkout's own; the fixture removes the daily DAG's SLA records
and any of its runs at or after the test's first slot, so a recent `make run` cannot mask the
scenario (and the scenario does not linger)."""

from __future__ import annotations

import email
import json
import socket
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

pytestmark = [pytest.mark.slow,
              # the local SMTP server takes AUTH without TLS; MWAA talks STARTTLS to SES
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")]

DAG_ID = "tokyobeta_daily_etl"
DAG_FILE = Path(__file__).resolve().parents[2] / "dags" / "tokyobeta_daily_etl.py"
GOLD_TASK = "upsert_kpis"
JST = ZoneInfo("Asia/Tokyo")
SMTP_LOGIN, SMTP_PASSWORD = "ses-smtp-user", "ses-smtp-secret-local"
ONCALL = "oncall@tokyobeta.test"


@dataclass
class Mailbox:
    messages: list = field(default_factory=list)
    logins: list = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, email.message_from_bytes(envelope.content)))
        return "250 OK"


@pytest.fixture
def smtp(monkeypatch) -> Mailbox:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    box = Mailbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == \
            (SMTP_LOGIN.encode(), SMTP_PASSWORD.encode())
        box.logins.append(auth_data.login.decode() if isinstance(auth_data, LoginPassword) else None)
        return AuthResult(success=ok)

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    # What MWAA gets as configuration options (SES SMTP endpoint, port 587 with STARTTLS there).
    for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(port), "SMTP_STARTTLS": "False",
                       "SMTP_SSL": "False", "SMTP_MAIL_FROM": "airflow@tokyobeta.test",
                       "SMTP_RETRY_LIMIT": "1", "SMTP_TIMEOUT": "10"}.items():
        monkeypatch.setenv(f"AIRFLOW__SMTP__{key}", value)
    monkeypatch.setenv("AIRFLOW_CONN_SMTP_DEFAULT", json.dumps(
        {"conn_type": "email", "login": SMTP_LOGIN, "password": SMTP_PASSWORD}))
    monkeypatch.setenv("SLA_EMAILS", ONCALL)
    try:
        yield box
    finally:
        controller.stop()


def _clear(since: datetime) -> None:
    from airflow.models import DagRun, SlaMiss
    from airflow.utils.session import create_session

    with create_session() as session:
        session.query(SlaMiss).filter(SlaMiss.dag_id == DAG_ID).delete(synchronize_session=False)
        for run in session.query(DagRun).filter(DagRun.dag_id == DAG_ID, DagRun.execution_date >= since):
            session.delete(run)


@pytest.fixture
def metadata():
    cleared: list[datetime] = []

    def clear(since: datetime) -> None:
        cleared.append(since)
        _clear(since)

    yield clear
    for since in cleared:
        _clear(since)


def load_dag():
    from airflow.models import DagBag

    bag = DagBag(str(DAG_FILE), include_examples=False)
    assert bag.import_errors == {}
    return bag.get_dag(DAG_ID)


def scheduled_run(dag, slot: datetime, task_states: dict[str, str], run_state: str) -> str:
    """A scheduled run as the scheduler creates it (zero-length data interval at the slot)."""
    from airflow.utils.session import create_session
    from airflow.utils.types import DagRunType

    slot = slot.astimezone(timezone.utc)
    with create_session() as session:
        run = dag.create_dagrun(state=run_state, execution_date=slot, run_type=DagRunType.SCHEDULED,
                                run_id=f"scheduled__{slot.isoformat()}", data_interval=(slot, slot),
                                start_date=slot, session=session)
        for ti in run.get_task_instances(session=session):
            ti.state = task_states.get(ti.task_id, task_states.get("*"))
        return run.run_id


def manage_slas() -> list[tuple[str, datetime, bool]]:
    from airflow.dag_processing.processor import DagFileProcessor
    from airflow.models import SlaMiss
    from airflow.utils.session import create_session

    DagFileProcessor.manage_slas(dag_folder=str(DAG_FILE), dag_id=DAG_ID)
    with create_session() as session:
        return sorted((m.task_id, m.execution_date, m.notification_sent)
                      for m in session.query(SlaMiss).filter(SlaMiss.dag_id == DAG_ID))


def latest_day_past_deadline(deadline_hhmm: tuple[int, int]) -> datetime:
    """The newest dump day (JST midnight) whose deadline has passed, never within a minute of one."""
    now = datetime.now(JST)
    today_deadline = now.replace(hour=deadline_hhmm[0], minute=deadline_hhmm[1], second=0, microsecond=0)
    if timedelta(0) < today_deadline - now < timedelta(minutes=1):
        time.sleep((today_deadline - now).total_seconds() + 2)
        now = datetime.now(JST)
    day = now.date() if now >= today_deadline else now.date() - timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=JST)


def sns_by_kind(inbox) -> list[dict]:
    return [m for m in inbox.messages() if m["MessageAttributes"]["kind"]["Value"] == "sla_miss"]


def test_gold_late_past_08_30_jst_alerts_sns_and_emails_once(inbox, smtp, metadata):
    dump_day = latest_day_past_deadline((8, 30))
    late_slot, previous_slot = dump_day.replace(hour=2), dump_day.replace(hour=2) - timedelta(days=1)
    metadata(previous_slot)
    dag = load_dag()
    scheduled_run(dag, previous_slot, {"*": "success"}, "success")
    late_run = scheduled_run(dag, late_slot, {"*": None, "heartbeat": "success", "wait_for_manifest": "success",
                                              "check_manifest": "success", "load_staging": "running"}, "running")

    misses = manage_slas()
    recorded_under = late_slot + timedelta(days=1)  # Airflow's label: the slot after the late run
    assert misses == [(GOLD_TASK, recorded_under.astimezone(timezone.utc), True)]

    (alert,) = sns_by_kind(inbox)
    day = f"{dump_day:%Y-%m-%d}"
    assert alert["Subject"] == f"[tokyobeta] SLA MISSED {DAG_ID}: gold for {day} not published by 08:30 JST"
    assert {k: v["Value"] for k, v in alert["MessageAttributes"].items()} == \
        {"severity": "ERROR", "dag_id": DAG_ID, "kind": "sla_miss"}
    body = alert["Message"]
    assert f"Dump day:   {day}  (deadline {day} 08:30 JST)" in body
    assert f"Run:        {late_run} (running)" in body
    unfinished = body.split("Unfinished: ", 1)[1].splitlines()[0]
    assert "load_staging (running)" in unfinished and f"{GOLD_TASK} (None)" in unfinished
    assert "wait_for_manifest" not in unfinished
    assert f"Airflow records this miss under the next slot, {recorded_under:%Y-%m-%d} 02:00 JST." in body
    assert f"SLA e-mail: {ONCALL}" in body

    assert smtp.logins == [SMTP_LOGIN], "the e-mail must authenticate with the smtp_default connection"
    ((recipients, mail),) = smtp.messages
    assert recipients == [ONCALL] and mail["To"] == ONCALL
    assert mail["Subject"] == f"[airflow] SLA miss on DAG={DAG_ID}"
    html = mail.get_payload()[0].get_payload(decode=True).decode()
    assert f"{GOLD_TASK} on {recorded_under.astimezone(timezone.utc).isoformat()}" in html

    assert manage_slas() == misses, "a miss is recorded once"
    assert sns_by_kind(inbox) == [] and len(smtp.messages) == 1, "and notified once"


def test_gold_published_in_time_sends_nothing(inbox, smtp, metadata):
    dump_day = latest_day_past_deadline((8, 30))
    slot = dump_day.replace(hour=2)
    metadata(slot - timedelta(days=1))
    dag = load_dag()
    scheduled_run(dag, slot - timedelta(days=1), {"*": "success"}, "success")
    scheduled_run(dag, slot, {"*": "success"}, "success")
    assert manage_slas() == []
    assert sns_by_kind(inbox) == [] and smtp.messages == []


@pytest.mark.parametrize("minutes_past_deadline, expect_miss", [(-15, False), (15, True)])
def test_the_deadline_is_exact_to_the_minute(inbox, smtp, metadata, monkeypatch, minutes_past_deadline, expect_miss):
    """A schedule three hours ago and a deadline 15 minutes away / ago: with a naive sla
    (deadline - slot) Airflow would stay silent in both cases until the next day."""
    now = datetime.now(JST).replace(second=0, microsecond=0)
    slot = now - timedelta(hours=3)
    deadline = now - timedelta(minutes=minutes_past_deadline)
    monkeypatch.setenv("DAILY_SCHEDULE", f"{slot.minute} {slot.hour} * * *")
    monkeypatch.setenv("SLA_GOLD_DEADLINE", f"{deadline:%H:%M}")
    metadata(slot - timedelta(days=1))
    dag = load_dag()
    scheduled_run(dag, slot - timedelta(days=1), {"*": "success"}, "success")
    scheduled_run(dag, slot, {"*": None, "load_staging": "running"}, "running")

    misses = manage_slas()
    alerts = sns_by_kind(inbox)
    if not expect_miss:
        assert misses == [] and alerts == [] and smtp.messages == []
        return
    assert [(task, when) for task, when, _ in misses] == [(GOLD_TASK, (slot + timedelta(days=1)).astimezone(timezone.utc))]
    (alert,) = alerts
    assert alert["Subject"].endswith(f"gold for {slot:%Y-%m-%d} not published by {deadline:%H:%M} JST")
    assert f"(deadline {deadline:%Y-%m-%d %H:%M} JST)" in alert["Message"]
    assert len(smtp.messages) == 1
