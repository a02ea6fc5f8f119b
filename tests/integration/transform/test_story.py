"""The transformations on a hand-made world (tests/fixtures/transform/story.yml): four dumps of
13 tenants, built day by day with `dbt build` through the dbt virtualenv, then the KPI upsert.
Every expected number below is computed by hand from the story; the comment next to it names
the tenants (T<n>) that make it up."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from decimal import Decimal

import pytest

from support import story as story_mod

pytestmark = pytest.mark.slow

D1, D2, D3, D5 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 5)
NO_DUMP = date(2026, 3, 4)
LOOKBACK, FORWARD = 10, 20


def day(n: int) -> date:
    return date(2026, 3, n)


@pytest.fixture(scope="module")
def story():
    return story_mod.load()


@pytest.fixture(scope="module")
def built(warehouse, story):
    """Build the four dump days in order; run the KPIs once on 03-03 (as an earlier daily run
    would, with a longer forward window) and once on 03-05."""
    results = {}
    early_kpi = None
    for dump_day in story["dump_dates"]:
        warehouse.load_story(story, dump_day)
        results[dump_day] = warehouse.dbt("build")
        if dump_day == D3:
            warehouse.kpi(lookback=LOOKBACK, forward=30)
            early_kpi = kpi_rows(warehouse)
    summary = warehouse.kpi(lookback=LOOKBACK, forward=FORWARD)
    return {"results": results, "early_kpi": early_kpi, "kpi_summary": summary}


def kpi_rows(warehouse) -> dict[date, tuple]:
    return {r[0]: r[1:] for r in warehouse.rows(
        "SELECT metric_date, as_of_snapshot_date, is_projection, move_ins, move_outs, occupied_rooms, total_rooms, "
        "occupancy_rate FROM `{gold}`.occupancy_daily_metrics ORDER BY metric_date")}


def test_every_dbt_test_passes_on_every_day(warehouse, built):
    for dump_day, result in built["results"].items():
        statuses = warehouse.statuses(result)
        tests = {k: v for k, v in statuses.items() if k.startswith("test.")}
        assert len(tests) >= 60, dump_day
        assert set(tests.values()) == {"pass"}, (dump_day, {k: v for k, v in tests.items() if v != "pass"})
        assert {v for k, v in statuses.items() if not k.startswith("test.")} == {"success"}, dump_day


def test_snapshot_keeps_active_tenant_rooms_per_day(warehouse, built):
    per_day = dict(warehouse.rows("SELECT snapshot_date, COUNT(*) FROM `{silver}`.tenant_room_snapshot_daily GROUP BY 1"))
    # D1: T1-T7, T10, T11 (T6's cancelled duplicate folded into its live moving); D3 adds T8;
    # D5 adds T9, T11's new room and T12's cancelled contract, and drops T2 (moved out 03-03)
    assert per_day == {D1: 9, D2: 9, D3: 10, D5: 12}
    rows = {(t, r): rest for t, r, *rest in warehouse.rows(
        "SELECT tenant_id, room_id, status, tenant_status, is_renewal, moving_id FROM `{silver}`.tenant_room_snapshot_daily "
        "WHERE snapshot_date = %s", (D5,))}
    assert rows[(11, 204)][:2] == [9, 6]       # T11 transferred: the old room is moved out, the tenant is not
    assert rows[(11, 203)][:2] == [6, 6]
    assert rows[(10, 105)][2] == 1             # T10's re-contract
    assert rows[(6, 202)][3] == 7              # the live moving, not the cancelled duplicate (id 6)
    assert rows[(12, 205)][:2] == [8, 8]
    assert (2, 102) not in rows


def test_events_name_the_tenants_behind_each_number(warehouse, built):
    events = set(warehouse.rows("SELECT snapshot_date, event_type, tenant_id, room_id FROM `{silver}`.tenant_room_events_daily"))
    assert events == {
        (D2, "move_in", 4, 104),         # T4 moves in; T10's renewal on the same day is no move-in
        (D3, "move_out", 2, 102),        # T2 leaves on its moveout_date
        (D3, "cancellation", 7, 203),    # T7 was 4 on D2, 8 on D3
        (D5, "move_in", 5, 201),         # T5 still status 5 in the dump of its move-in day: counted
        (D5, "move_in", 11, 203),        # T11's transfer: a move-in to the new room...
        (D5, "move_out", 11, 204),       # ...and a move-out of the old one
        (D5, "cancellation", 12, 205),   # T12 registered and cancelled between two dumps
    }


def test_daily_activity_summary(warehouse, built):
    assert warehouse.rows("SELECT activity_date, previous_snapshot_date, new_registrations, move_ins, move_outs, "
                          "cancellations FROM `{gold}`.daily_activity_summary ORDER BY activity_date") == [
        # registrations: T6 (03-01), T13 the prospect (03-02), T8 (03-03), T9 (03-05); T12 registered
        # on 03-04, which has no dump, so no day reports it. No row at all for 03-04.
        (D1, None, 1, 0, 0, 0),
        (D2, D1, 1, 1, 0, 0),
        (D3, D2, 1, 0, 1, 1),
        (D5, D3, 1, 2, 1, 1),
    ]


def test_tenant_status_transitions(warehouse, built):
    assert warehouse.rows("SELECT transition_date, previous_snapshot_date, from_status, to_status, tenants, to_label_en "
                          "FROM `{gold}`.tenant_status_transitions ORDER BY 1, 3, 4") == [
        (D2, D1, 4, 6, 1, "In residence"),   # T4
        (D3, D2, 4, 8, 1, "Cancelled"),      # T7
        (D3, D2, 7, 9, 1, "Moved out"),      # T2
        # D5: T9 and T12 are new, T2 left the snapshot, T11 stays 6: no transition
    ]


def test_occupancy_by_apartment_municipality_and_nationality(warehouse, built):
    assert warehouse.rows("SELECT snapshot_date, apartment_id, municipality, occupied_rooms, total_rooms, residents, "
                          "occupancy_rate FROM `{gold}`.occupancy_by_apartment ORDER BY 1, 2") == [
        (D1, 1, "新宿区", 4, 5, 4, Decimal("0.8000")),   # T1 T2 T3 T10
        (D1, 2, "渋谷区", 1, 5, 1, Decimal("0.2000")),   # T11; municipality from enrichment
        (D2, 1, "新宿区", 5, 5, 5, Decimal("1.0000")),   # + T4
        (D2, 2, "渋谷区", 1, 5, 1, Decimal("0.2000")),
        (D3, 1, "新宿区", 4, 5, 4, Decimal("0.8000")),   # - T2
        (D3, 2, "渋谷区", 1, 5, 1, Decimal("0.2000")),
        (D5, 1, "新宿区", 4, 5, 4, Decimal("0.8000")),
        (D5, 2, "渋谷区", 2, 5, 2, Decimal("0.4000")),   # T5 (status not updated yet) and T11's new room
    ]
    assert warehouse.rows("SELECT prefecture, municipality, apartments, occupied_rooms, total_rooms, occupancy_rate "
                          "FROM `{gold}`.occupancy_by_municipality WHERE snapshot_date = %s ORDER BY 2", (D5,)) == [
        ("東京都", "新宿区", 1, 4, 5, Decimal("0.8000")),
        ("東京都", "渋谷区", 1, 2, 5, Decimal("0.4000")),
    ]
    by_nationality = warehouse.rows("SELECT snapshot_date, nationality_code, nationality_en, residents, share_of_residents "
                                    "FROM `{gold}`.occupancy_by_nationality ORDER BY 1, 2")
    assert by_nationality == [
        (D1, "JP", "Japan", 2, Decimal("0.4000")),      # T2 T10
        (D1, "VN", "Vietnam", 3, Decimal("0.6000")),    # T1, T3 ("Vietnam"), T11 (ベトナム)
        (D2, "JP", "Japan", 2, Decimal("0.3333")),
        (D2, "NP", "Nepal", 1, Decimal("0.1667")),      # T4
        (D2, "VN", "Vietnam", 3, Decimal("0.5000")),
        (D3, "JP", "Japan", 1, Decimal("0.2000")),      # T10
        (D3, "NP", "Nepal", 1, Decimal("0.2000")),
        (D3, "VN", "Vietnam", 3, Decimal("0.6000")),
        (D5, "JP", "Japan", 2, Decimal("0.3333")),      # T5 T10
        (D5, "NP", "Nepal", 1, Decimal("0.1667")),
        (D5, "VN", "Vietnam", 3, Decimal("0.5000")),
    ]


def expected_kpi() -> dict[date, tuple]:
    actual = {  # each day in its own snapshot: (move_ins, move_outs, occupied of 10 rooms)
        D1: (0, 0, 5), D2: (1, 0, 6), D3: (0, 1, 5), D5: (2, 1, 6)}
    # after 03-05, projected from the 03-05 snapshot: occupied 101 T1, 103 T3, 104 T4, 105 T10,
    # 201 T5, 203 T11; T6 arrives 03-08, T3 leaves 03-10, T8 arrives 03-11, T9 arrives 03-20;
    # the cancelled T7 (03-12) and T12 (03-20) do not.
    moves = {day(8): (1, 0), day(10): (0, 1), day(11): (1, 0), day(20): (1, 0)}
    occupied = 6
    rows = {d: (D5, 0, ins, outs, occ, 10, Decimal(occ) / 10) for d, (ins, outs, occ) in actual.items()}
    for offset in range(1, FORWARD + 1):
        metric_date = D5 + timedelta(days=offset)
        ins, outs = moves.get(metric_date, (0, 0))
        occupied += ins - outs
        rows[metric_date] = (D5, 1, ins, outs, occupied, 10, Decimal(occupied) / 10)
    return {d: (*r[:6], r[6].quantize(Decimal("0.0001"))) for d, r in rows.items()}


def test_kpi_rows_equal_hand_computed_values(warehouse, built):
    assert kpi_rows(warehouse) == expected_kpi()
    assert built["kpi_summary"] == {"as_of_snapshot_date": "2026-03-05", "first_day": "2026-02-23",
                                    "last_day": "2026-03-25", "actual_rows": 4, "projected_rows": FORWARD,
                                    "gold_publication_id": None}  # dbt built gold directly: no publication marker


def test_kpi_removes_rows_that_no_longer_qualify(warehouse, built):
    early = built["early_kpi"]
    # the 03-03 run projected 03-04 (and 30 days ahead) from the 03-03 snapshot...
    assert early[NO_DUMP] == (D3, 1, 0, 0, 5, 10, Decimal("0.5000"))
    assert max(early) == D3 + timedelta(days=30)
    final = kpi_rows(warehouse)
    # ...03-04 has no snapshot, so once it is past it has no row (not a zero, not the old
    # projection), and the projections beyond the shorter window, made from 03-03, are gone
    assert NO_DUMP not in final
    assert max(final) == D5 + timedelta(days=FORWARD)
    assert {r[0] for r in final.values()} == {D5}


def test_snapshot_lag_projections_are_anchored_on_the_latest_snapshot(warehouse, built):
    # Dumps of 03-06..03-08 never came: on 03-08 the latest snapshot is three days old. The KPIs
    # read no clock: the days after 03-05 are projections from 03-05, with real numbers.
    rows = kpi_rows(warehouse)
    assert [rows[day(n)][:5] for n in (6, 7, 8)] == [(D5, 1, 0, 0, 6), (D5, 1, 0, 0, 6), (D5, 1, 1, 0, 7)]
    assert all(rows[d][1] == 0 for d in rows if d <= D5) and all(rows[d][1] == 1 for d in rows if d > D5)


def test_cancellations(warehouse, built):
    cancellations = warehouse.rows("SELECT snapshot_date, tenant_id, previous_status FROM `{silver}`.tenant_room_events_daily "
                                   "WHERE event_type = 'cancellation' ORDER BY 1")
    # T7 counted once, on the dump that first shows it (not again on 03-05); T12 was never seen
    # before its cancellation; T6's cancelled duplicate moving is no cancellation at all
    assert cancellations == [(D3, 7, 4), (D5, 12, None)]
    rows = kpi_rows(warehouse)
    assert rows[day(12)][2] == 0 and rows[day(20)][2] == 1   # T7's and T12's move-ins are not projected


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tokyobeta.cli", *args], capture_output=True, text=True)


def test_kpi_cli_month_report(warehouse, built):
    proc = run_cli("kpi", "--month", "2026-03", "--json")
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["as_of_snapshot_date"] == "2026-03-05"
    assert report["totals"] == {"move_ins": 6, "move_outs": 3}
    assert report["days_without_snapshot"] == ["2026-03-04"]
    assert (report["actual_days"], report["projected_days"]) == (4, 26)
    assert [(r["agreement_type_code"], r["label_en"], r["move_ins"], r["move_outs"]) for r in report["by_contract_type"]] == [
        (1, "Standard lease", 4, 2),    # in: T11 (03-05), T6, T8, T9; out: T2, T11's old room
        (2, "Corporate lease", 1, 0),   # T4
        (3, "Student lease", 0, 1),     # T3 (projected, 03-10)
        (4, "Short stay", 1, 0),        # T5
    ]
    by_day = {d["date"]: d for d in report["days"]}
    assert by_day["2026-03-04"]["kind"] == "no_snapshot" and by_day["2026-03-04"]["move_ins"] is None
    assert by_day["2026-03-05"]["by_contract_type"] == {"1": {"move_ins": 1, "move_outs": 1}, "4": {"move_ins": 1, "move_outs": 0}}
    # the same numbers as the KPI table for every day the KPI window covers
    kpi = kpi_rows(warehouse)
    for d, row in by_day.items():
        metric_date = date.fromisoformat(d)
        if metric_date in kpi:
            assert (row["move_ins"], row["move_outs"]) == kpi[metric_date][2:4], d
    text = run_cli("kpi", "--month", "2026-03").stdout
    assert "as of snapshot 2026-03-05" in text and "2026-03-04  no snapshot" in text


def test_kpi_cli_rejects_a_bad_month(warehouse, built):
    proc = run_cli("kpi", "--month", "2026-13")
    assert proc.returncode == 2 and "--month '2026-13' is not a month: use YYYY-MM" in proc.stderr


def test_kpi_upsert_is_one_transaction(warehouse, built):
    gold = warehouse.schemas["gold"]
    with warehouse.admin.cursor() as cur:
        cur.execute(f"UPDATE `{gold}`.occupancy_daily_metrics SET move_ins = 99 WHERE metric_date = %s", (D5,))
        cur.execute(f"INSERT INTO `{gold}`.occupancy_daily_metrics (metric_date, as_of_snapshot_date, is_projection, "
                    "move_ins, move_outs, occupied_rooms, total_rooms, occupancy_rate) VALUES (%s, %s, 1, 0, 0, 5, 10, 0.5)",
                    (NO_DUMP, D3))
        cur.execute(f"CREATE TRIGGER `{gold}`.refuse_delete BEFORE DELETE ON `{gold}`.occupancy_daily_metrics "
                    "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'delete refused by the test'")
    tampered = kpi_rows(warehouse)
    try:
        with pytest.raises(Exception, match="delete refused by the test"):
            warehouse.kpi(lookback=LOOKBACK, forward=FORWARD)
        assert kpi_rows(warehouse) == tampered   # the upsert before the failing delete was rolled back
    finally:
        with warehouse.admin.cursor() as cur:
            cur.execute(f"DROP TRIGGER `{gold}`.refuse_delete")
    warehouse.kpi(lookback=LOOKBACK, forward=FORWARD)
    assert kpi_rows(warehouse) == expected_kpi()


def test_kpi_task_follows_its_run_params(warehouse, built):
    from support.db import checksums
    from tokyobeta import daily

    gold = warehouse.schemas["gold"]
    before = checksums(warehouse.admin, gold)
    assert daily.upsert_kpis(params={"kpi_enabled": False}) == {"enabled": False}
    assert checksums(warehouse.admin, gold) == before
    summary = daily.upsert_kpis(params={"kpi_lookback_days": 2, "kpi_forward_days": 3})
    assert (summary["first_day"], summary["last_day"], summary["actual_rows"], summary["projected_rows"]) == \
        ("2026-03-03", "2026-03-08", 2, 3)
    assert kpi_rows(warehouse) == expected_kpi()   # same snapshot, same rule: rows outside stay valid


def test_a_changed_model_asks_for_a_migration_and_a_full_refresh_rebuilds_the_same(warehouse, built):
    before = warehouse.checksums("silver", "gold")
    with warehouse.admin.cursor() as cur:
        cur.execute(f"ALTER TABLE `{warehouse.schemas['gold']}`.daily_activity_summary DROP COLUMN cancellations")
    result = warehouse.dbt("build", "--select", "daily_activity_summary", check=False)
    assert result["returncode"] != 0
    assert "but the model now selects" in result["output"] and "--full-refresh" in result["output"]
    # the first-build path (every day of the snapshot history at once) gives the very tables the
    # day-by-day runs built
    warehouse.dbt("run", "--full-refresh", "--select", "tenant_room_events_daily", "path:models/gold")
    assert warehouse.checksums("silver", "gold") == before


def test_rerunning_the_latest_day_changes_no_table(warehouse, story, built):
    before = warehouse.checksums("silver", "gold")
    warehouse.load_story(story, D5)
    warehouse.dbt("build")
    warehouse.kpi(lookback=LOOKBACK, forward=FORWARD)
    assert warehouse.checksums("silver", "gold") == before


def test_rerunning_an_older_day_replaces_that_day_only(warehouse, story, built):
    before = warehouse.checksums("silver", "gold")
    warehouse.load_story(story, D3)
    warehouse.dbt("build")
    warehouse.kpi(lookback=LOOKBACK, forward=FORWARD)   # still anchored on 03-05
    after = warehouse.checksums("silver", "gold")
    assert after["gold"] == before["gold"]
    # silver's day slices are unchanged; only the "current assignment" table follows staging
    changed = {t for t in before["silver"] if before["silver"][t] != after["silver"][t]}
    assert changed == {"tokyo_beta_tenant_room_info"}
    warehouse.load_story(story, D5)
    warehouse.dbt("build")
    assert warehouse.checksums("silver", "gold") == before


def test_a_failed_rebuild_of_a_day_keeps_the_day(warehouse, story, built):
    silver = warehouse.schemas["silver"]
    before = warehouse.checksums("silver")["silver"]["tenant_room_snapshot_daily"]
    with warehouse.admin.cursor() as cur:
        cur.execute(f"CREATE TRIGGER `{silver}`.refuse_insert BEFORE INSERT ON `{silver}`.tenant_room_snapshot_daily "
                    "FOR EACH ROW SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'insert refused by the test'")
    try:
        warehouse.load_story(story, D5)
        result = warehouse.dbt("build", "--select", "tenant_room_snapshot_daily", check=False)
        assert result["returncode"] != 0 and "insert refused by the test" in result["output"]
    finally:
        with warehouse.admin.cursor() as cur:
            cur.execute(f"DROP TRIGGER `{silver}`.refuse_insert")
    # the day's delete ran in the same transaction as the failed insert, so it was rolled back
    assert warehouse.rows("SELECT COUNT(*) FROM `{silver}`.tenant_room_snapshot_daily WHERE snapshot_date = %s", (D5,)) == [(12,)]
    assert warehouse.checksums("silver")["silver"]["tenant_room_snapshot_daily"] == before
