"""Write-audit-publish on the story world (tests/fixtures/transform/story.yml), day by day as the
daily DAG does it: dbt builds into the candidate twins, the audit (the real `dbt test` and the
KPI checks), the publish (one RENAME TABLE). A held day leaves the live layers byte for byte as
they were; a SIGKILL during the publish leaves the old or the new gold, never a mix; the twins'
dirty-day sync loses and duplicates no day: the live tables end up equal to a plain `dbt build`
of the same days."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import date

import pytest

from tokyobeta.io import mysql
from tokyobeta.transform import publish as wap

pytestmark = pytest.mark.slow

D1, D2, D3, D5 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5)
CANDIDATES = {wap.CANDIDATE_ENV: "1"}
LIMITS = {"max_rooms_drop_share": 0.2, "max_daily_move_ins": 500}


class Wap:
    """The DAG's dbt tasks, audit_candidates and publish_silver_gold, run directly."""

    def __init__(self, warehouse, story):
        self.wh, self.story = warehouse, story
        self.cfg, self.schemas = warehouse.cfg, warehouse.schemas
        self.manifest = wap.read_manifest(warehouse.project_dir)
        self.relations = wap.layer_relations(self.manifest)

    def build(self, day: date, damage=None) -> None:
        self.wh.load_story(self.story, day)
        if damage:
            damage(self.wh)
        self.wh.dbt("build", "--select", "source:staging", "path:seeds", "--indirect-selection", "cautious",
                    env=CANDIDATES)
        self.wh.dbt("run", "--select", "path:models/silver", "path:models/gold", env=CANDIDATES)

    def audit(self, day: date, run_id: str, **limits) -> wap.Audit:
        project = str(self.wh.project_dir)
        with mysql.connection(self.cfg.mysql_conn_id) as conn:
            ids = wap.open_publications(conn, self.schemas, self.cfg.include_path, day, run_id,
                                        self.cfg.manifest_key(day))
            result = wap.audit(conn, self.schemas, self.cfg.include_path, self.manifest, day,
                               dbt_executable=self.cfg.dbt_executable_path,
                               profile_args=["--profiles-dir", project, "--target", "local"], env={},
                               publication_ids=ids, **{**LIMITS, **limits})
            wap.record_audit(conn, self.schemas, ids, result)
        return result

    def publish(self, day: date, run_id: str) -> dict:
        with mysql.connection(self.cfg.mysql_conn_id) as conn:
            return wap.publish(conn, self.schemas, self.manifest, day, run_id)

    def day(self, day: date, damage=None, **limits) -> tuple[str, wap.Audit]:
        run_id = f"test__{day}__{uuid.uuid4().hex[:8]}"
        self.build(day, damage)
        result = self.audit(day, run_id, **limits)
        if result.passed:
            self.publish(day, run_id)
        return run_id, result

    def fingerprints(self, schema_key: str) -> dict[str, tuple[int, int]]:
        """(rows, content checksum) of every dbt relation of a layer's live or twin schema."""
        layer = schema_key.removesuffix("_candidate")
        return {name: fingerprint(self.wh.admin, self.schemas[schema_key], name) for name in self.relations[layer]}

    def publications(self, run_id: str) -> dict[str, tuple]:
        return {r[0]: r[1:] for r in self.wh.rows(
            "SELECT layer, status, audit, published_at FROM `{ops}`.publications WHERE run_id = %s", (run_id,))}


def fingerprint(conn, schema: str, table: str) -> tuple[int, int]:
    with conn.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_schema = %s AND table_name = %s "
                    "ORDER BY ordinal_position", (schema, table))
        columns = [c for (c,) in cur.fetchall()]
        assert columns, f"{schema}.{table} does not exist"
        row = ", ".join(f"IFNULL(CAST(`{c}` AS CHAR), '<null>')" for c in columns)
        cur.execute(f"SELECT COUNT(*), COALESCE(SUM(CRC32(CONCAT_WS('|', {row}))), 0) FROM `{schema}`.`{table}`")
        rows, crc = cur.fetchone()
        return int(rows), int(crc)


def misfiled_rooms(wh) -> None:
    """Four of apartment 1's rooms filed under apartment 2 in `rooms`, while their movings
    still say apartment 1: apartment 1 then holds more occupied rooms (4) than it has (1)."""
    with wh.admin.cursor() as cur:
        cur.execute(f"UPDATE `{wh.schemas['staging']}`.rooms SET apartment_id = 2 WHERE id IN (101, 102, 103, 104)")


@pytest.fixture(scope="module")
def days(warehouse, story_world):
    """D1 and D2 published; D3 first held (misfiled rooms), then published; D5 published."""
    w = Wap(warehouse, story_world)
    out = {"wap": w}
    for day in (D1, D2):
        out[day] = w.day(day)
    out["live_before_held"] = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    out["checksums_before_held"] = warehouse.checksums("silver", "gold")
    out["held"] = w.day(D3, damage=misfiled_rooms)
    out["live_after_held"] = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    out["checksums_after_held"] = warehouse.checksums("silver", "gold")
    out["candidate_after_held"] = warehouse.rows(
        "SELECT apartment_id, occupied_rooms, total_rooms FROM `{gold_candidate}`.occupancy_by_apartment "
        "WHERE snapshot_date = %s ORDER BY apartment_id", (D3,))
    out[D3] = w.day(D3)
    out[D5] = w.day(D5)
    return out


@pytest.fixture(scope="module")
def story_world():
    from support import story as story_mod

    return story_mod.load()


def test_good_days_pass_the_audit_and_are_published(days):
    w = days["wap"]
    for day in (D1, D2, D3, D5):
        run_id, result = days[day]
        assert result.passed, [f.line() for f in result.failures]
        assert {layer: row[0] for layer, row in w.publications(run_id).items()} == {"silver": "published",
                                                                                    "gold": "published"}
    # the live schemas say which publication they hold
    (gold_id,), = w.wh.rows("SELECT id FROM `{ops}`.publications WHERE run_id = %s AND layer = 'gold'", (days[D5][0],))
    assert w.wh.rows("SELECT publication_id, dump_date FROM `{gold}`.publication") == [(gold_id, D5)]


def test_a_held_day_leaves_every_live_table_byte_for_byte(days):
    run_id, result = days["held"]
    assert not result.passed
    failed = {(f.check, f.model) for f in result.failures}
    assert any(check.startswith("expression_is_true_occupancy_by_apartment") and model == "occupancy_by_apartment"
               for check, model in failed), failed
    assert ("kpi:occupancy_rate_in_0_1", "occupancy_by_apartment") in failed
    assert days["checksums_after_held"] == days["checksums_before_held"]
    assert days["live_after_held"] == days["live_before_held"]
    statuses = days["wap"].publications(run_id)
    assert {layer: row[0] for layer, row in statuses.items()} == {"silver": "held", "gold": "held"}
    assert all(row[2] is None for row in statuses.values())  # never published


def test_the_held_candidate_is_inspectable_and_names_ids_only(days):
    # apartment 1 keeps one room in `rooms` but its movings hold four
    rows = {r[0]: r[1:] for r in days["candidate_after_held"]}
    assert rows[1] == (4, 1)
    _, result = days["held"]
    failing = next(f for f in result.failures if f.check.startswith("expression_is_true_occupancy_by_apartment"))
    assert failing.rows and all(set(r) <= {"snapshot_date", "apartment_id"} for r in failing.rows), failing.rows
    assert {"snapshot_date": str(D3), "apartment_id": "1"} in failing.rows


def test_history_survives_the_twins_no_day_lost_or_duplicated(days, warehouse):
    """The live tables after D1, D2, (D3 held), D3, D5 equal a plain dbt build of D1, D2, D3, D5."""
    w = days["wap"]
    live = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    snapshot_days = warehouse.rows("SELECT snapshot_date, COUNT(*) FROM `{silver}`.tenant_room_snapshot_daily "
                                   "GROUP BY snapshot_date ORDER BY snapshot_date")
    assert [d for d, _ in snapshot_days] == [D1, D2, D3, D5]
    # what a developer's plain build gives, in the live schemas of a fresh warehouse
    warehouse.reset()
    for day in (D1, D2, D3, D5):
        warehouse.load_story(w.story, day)
        warehouse.dbt("build")
    plain = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    assert live == plain


def test_sigkill_during_publish_leaves_old_or_new_gold(warehouse, story_world):
    w = Wap(warehouse, story_world)
    warehouse.reset()
    w.day(D1)
    old = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    for day, step in ((D2, "markers written"), (D3, "swapped"), (D5, "recorded")):
        run_id = f"test__{day}__{uuid.uuid4().hex[:8]}"
        w.build(day)
        assert w.audit(day, run_id).passed
        new = {layer: w.fingerprints(f"{layer}_candidate") for layer in wap.LAYERS}
        assert new != old
        killed_after(w, day, run_id, step)
        live = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
        assert live == (old if step == "markers written" else new), step
        # the rerun finishes the job: new gold, recorded once
        outcome = w.publish(day, run_id)
        assert outcome["already"] == (step == "recorded"), (step, outcome)
        assert {layer: w.fingerprints(layer) for layer in wap.LAYERS} == new
        assert {layer: row[0] for layer, row in w.publications(run_id).items()} == {"silver": "published",
                                                                                    "gold": "published"}
        # publishing again never swaps the old tables back
        assert w.publish(day, run_id)["already"] is True
        assert {layer: w.fingerprints(layer) for layer in wap.LAYERS} == new
        old = new


def test_an_unbuilt_twin_is_refused(warehouse, story_world):
    """After a publish the twin holds the previous publication: auditing it again (a cleared
    audit_candidates without dbt) must not put it live."""
    from airflow.exceptions import AirflowFailException

    w = Wap(warehouse, story_world)
    with pytest.raises(AirflowFailException, match="clear dbt_silver"):
        w.audit(D5, f"test__{D5}__{uuid.uuid4().hex[:8]}")


def test_a_kpi_breach_is_held(warehouse, story_world):
    w = Wap(warehouse, story_world)
    before = {layer: w.fingerprints(layer) for layer in wap.LAYERS}
    run_id, result = w.day(D5, max_daily_move_ins=0)
    assert [f.check for f in result.failures] == ["kpi:daily_move_ins_ceiling"]
    assert {layer: w.fingerprints(layer) for layer in wap.LAYERS} == before
    assert {layer: row[0] for layer, row in w.publications(run_id).items()} == {"silver": "held", "gold": "held"}


def test_a_gold_build_never_waits_for_another_models_open_transaction(warehouse, story_world):
    """The DAG runs the gold models as parallel tasks, each one dbt process whose writes are
    transactions over its own twin. Their dirty-day bookkeeping once shared one table: a build
    waited for the locks of its neighbour's open transaction, and two of them deadlocked (MariaDB
    1213, seen under the scheduler on a first build). Here occupancy_by_nationality's first build
    holds its transactions open (a test hook) while the other gold models build: they must all
    finish within one hold."""
    w = Wap(warehouse, story_world)
    warehouse.reset()
    build_upstream_of_gold(w, D1)
    holder = warehouse.dbt_started("run", "--select", "occupancy_by_nationality",
                                   env={**CANDIDATES, HOLD_ENV: str(HOLD_S)})
    try:
        wait_for_open_transaction(warehouse, holder)
        held_since = time.monotonic()
        others = warehouse.dbt_side_by_side("occupancy_by_apartment", "tenant_status_transitions",
                                            "daily_activity_summary", env=CANDIDATES)
        others_took = time.monotonic() - held_since
        assert_succeeded(others)
        assert others_took < HOLD_S, (f"the other gold models took {others_took:.0f} s: they waited for "
                                      "occupancy_by_nationality's open transaction")
        holder_output = holder.communicate(timeout=HOLD_S * 6)[0]
        assert holder.returncode == 0, holder_output[-3000:]
    finally:
        holder.kill()
    warehouse.dbt("run", "--select", "occupancy_by_municipality", env=CANDIDATES)
    run_id = f"test__{D1}__{uuid.uuid4().hex[:8]}"
    assert w.audit(D1, run_id).passed
    w.publish(D1, run_id)


def test_a_twin_without_its_dirty_days_is_cloned_again(warehouse, story_world):
    """Which days of such a twin differ from live is unknown (a twin from before the dirty days
    were kept per model, or a dropped table): the next build clones live, so the twin's other
    days equal live even where the twin had been spoiled."""
    w = Wap(warehouse, story_world)
    w.day(D2)  # the twin now holds D1's publication
    twin, live = w.schemas["gold_candidate"], w.schemas["gold"]
    with warehouse.admin.cursor() as cur:
        cur.execute(f"DROP TABLE `{twin}`.occupancy_by_apartment__dirty_days")
        cur.execute(f"DELETE FROM `{twin}`.occupancy_by_apartment WHERE snapshot_date = %s", (D1,))
    warehouse.admin.commit()
    build_upstream_of_gold(w, D3)
    warehouse.dbt("run", "--select", "path:models/gold", env=CANDIDATES)
    kept_days = "SELECT * FROM `{}`.occupancy_by_apartment WHERE snapshot_date <> %s ORDER BY 1, 2"
    assert warehouse.rows(kept_days.format(twin), (D3,)) == warehouse.rows(kept_days.format(live), (D3,))
    assert warehouse.rows(f"SELECT COUNT(*) FROM `{twin}`.occupancy_by_apartment WHERE snapshot_date = %s", (D1,)) != [(0,)]


HOLD_ENV = "TOKYOBETA_DBT_HOLD_TRANSACTION"
HOLD_S = 25


def build_upstream_of_gold(w: Wap, day: date) -> None:
    w.wh.load_story(w.story, day)
    w.wh.dbt("build", "--select", "source:staging", "path:seeds", "--indirect-selection", "cautious", env=CANDIDATES)
    w.wh.dbt("run", "--select", "path:models/silver", env=CANDIDATES)


def wait_for_open_transaction(warehouse, holder: subprocess.Popen, timeout_s: float = HOLD_S * 4) -> None:
    """Until the holder's dbt sleeps inside a transaction that has written rows (its SLEEP shows in
    the processlist, its transaction in innodb_trx)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if holder.poll() is not None:
            pytest.fail(f"the holding dbt ended early ({holder.returncode}):\n{holder.stdout.read()[-3000:]}")
        if warehouse.rows("SELECT COUNT(*) FROM information_schema.processlist AS p "
                          "JOIN information_schema.innodb_trx AS t ON t.trx_mysql_thread_id = p.id "
                          "WHERE p.info LIKE '%select sleep(%' AND t.trx_rows_modified > 0")[0][0]:
            return
        time.sleep(0.2)
    pytest.fail("the holding dbt never held a transaction that wrote rows")


def assert_succeeded(outcomes: dict[str, tuple[int, str]]) -> None:
    failed = {model: output[output.find("Completed with"):][:1500] for model, (code, output) in outcomes.items() if code}
    assert not failed, "\n".join(f"{model}: {error}" for model, error in failed.items())


KILL_SCRIPT = """
import sys
from datetime import date
from tokyobeta import settings
from tokyobeta.io import mysql
from tokyobeta.transform import publish as wap
cfg = settings.from_env()
with mysql.connection(cfg.mysql_conn_id) as conn:
    wap.publish(conn, cfg.schemas(), wap.read_manifest(cfg.dbt_project_path), date.fromisoformat(sys.argv[1]), sys.argv[2])
"""


def killed_after(w, day: date, run_id: str, step: str) -> None:
    """Runs the publish in a process of its own and SIGKILLs it right after `step`."""
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, day.isoformat(), run_id], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, wap.PAUSE_ENV: "10"})
    try:
        for line in proc.stdout:
            if line.strip() == f"publish step: {step}":
                break
        else:
            raise AssertionError(f"publish ended before {step!r}: {proc.stderr.read()[-2000:]}")
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()
