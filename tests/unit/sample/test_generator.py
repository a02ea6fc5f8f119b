"""The sample source generator: determinism, day-to-day evolution, realism invariants."""

from __future__ import annotations

import csv
import re
from collections import Counter, defaultdict
from datetime import date, timedelta
from functools import lru_cache

import pytest

from tokyobeta import contract
from tokyobeta.sample import generator
from tokyobeta.sample.generator import generate_contract_tables, generate_tables
from tokyobeta.sample.source import include_dir, insert_statements

AS_OF = date(2025, 6, 12)
# Moves cluster around month ends, so the day-to-day window spans one.
DIFF_START = date(2025, 6, 27)
SMALL = 0.05
WORLD_SCALE = 0.2


@lru_cache(maxsize=None)
def contract_rows(as_of: date, scale: float, seed: int = 42) -> dict[str, list[tuple]]:
    return {name: list(t.rows) for name, t in generate_contract_tables(as_of, scale, seed).items()}


def as_dicts(table: str, rows: list[tuple]) -> list[dict]:
    columns = generator.CONTRACT_COLUMNS[table]
    return [dict(zip(columns, row)) for row in rows]


@pytest.fixture(scope="module")
def world() -> dict[str, list[dict]]:
    return {name: as_dicts(name, rows) for name, rows in contract_rows(AS_OF, WORLD_SCALE).items()}


def movings_by_tenant(world: dict[str, list[dict]]) -> dict[int, list[dict]]:
    by_tenant: dict[int, list[dict]] = defaultdict(list)
    for moving in world["movings"]:
        by_tenant[moving["tenant_id"]].append(moving)
    for movings in by_tenant.values():
        movings.sort(key=lambda m: m["id"])
    return by_tenant


def live_moving(movings: list[dict]) -> dict | None:
    active = [m for m in movings if not m["cancel_flag"]]
    return active[-1] if active else None


# --- determinism -------------------------------------------------------------------------

def test_same_inputs_give_identical_rows():
    first = generate_tables(AS_OF, SMALL, 7, other_mb=0.3)
    second = generate_tables(AS_OF, SMALL, 7, other_mb=0.3)
    assert list(first) == list(second)
    for name in first:
        rows = list(first[name].rows)
        assert rows, name
        assert rows == list(second[name].rows), name
        assert rows == list(first[name].rows), f"{name}: a second iteration must give the same rows"


def test_different_seed_gives_different_world():
    a, b = contract_rows(AS_OF, SMALL, 1), contract_rows(AS_OF, SMALL, 2)
    for name in a:
        assert a[name] != b[name], name


def test_as_of_before_epoch_is_rejected():
    with pytest.raises(ValueError):
        generate_contract_tables(generator.EPOCH - timedelta(days=1), SMALL)
    with pytest.raises(ValueError):
        generate_contract_tables(AS_OF, 0)


# --- consecutive days --------------------------------------------------------------------

def day_diff(table: str, before: list[tuple], after: list[tuple], day: date) -> tuple[list[dict], list[dict]]:
    """(new rows, changed rows) of `after` against `before`, checking how a day may change."""
    old = {r["id"]: r for r in as_dicts(table, before)}
    new_rows, changed = [], []
    for row in as_dicts(table, after):
        previous = old.pop(row["id"], None)
        if previous is None:
            assert row["created_at"].date() == day, (table, row)
            new_rows.append(row)
        elif previous != row:
            assert row["updated_at"].date() == day, (table, previous, row)
            assert row["created_at"] == previous["created_at"], (table, row)
            changed.append(row)
    assert not old, f"{table}: rows disappeared overnight: {sorted(old)[:5]}"
    return new_rows, changed


def test_next_day_is_this_day_plus_one_day_of_events():
    registrations = status_changes = move_ins = move_outs = inquiries = 0
    for offset in range(7):
        day = DIFF_START + timedelta(days=offset)
        today, tomorrow = contract_rows(day, SMALL), contract_rows(day + timedelta(days=1), SMALL)
        diffs = {name: day_diff(name, today[name], tomorrow[name], day + timedelta(days=1)) for name in today}
        new_tenants, changed_tenants = diffs["tenants"]
        registrations += len(new_tenants)
        status_before = {r[0]: r[1] for r in today["tenants"]}
        moved = [t for t in changed_tenants if t["status"] != status_before[t["id"]]]
        status_changes += len(moved)
        move_ins += sum(1 for t in moved if t["status"] == contract.STATUS_IN_RESIDENCE)
        move_outs += sum(1 for t in moved if t["status"] == contract.STATUS_MOVED_OUT)
        inquiries += len(diffs["inquiries"][0])
    assert registrations > 0
    assert status_changes > 0
    assert move_ins > 0
    assert move_outs > 0
    assert inquiries > 0


# --- realism invariants ------------------------------------------------------------------

def test_every_tenant_status_appears(world):
    counts = Counter(t["status"] for t in world["tenants"])
    assert set(counts) == set(range(1, 10))
    early = sum(counts[s] for s in (1, 2, 3))
    assert early < 0.1 * len(world["tenants"]), "tenants are mostly registered from status 4/5 on"
    assert counts[contract.STATUS_IN_RESIDENCE] > counts[contract.STATUS_INITIAL_RENT_PAID]


def test_status_agrees_with_the_contract_dates(world):
    by_tenant = movings_by_tenant(world)
    for tenant in world["tenants"]:
        status, movings = tenant["status"], by_tenant.get(tenant["id"], [])
        live = live_moving(movings)
        context = (tenant, movings)
        if status in (1, 2, 3):
            assert not movings, context
            continue
        if status == contract.STATUS_CANCELLED:
            assert movings and movings[-1]["cancel_flag"] == 1, context
            continue
        assert live is not None, context
        if status in (contract.STATUS_CONTRACT_SIGNED, contract.STATUS_INITIAL_RENT_PAID):
            assert live["move_in_date"] > AS_OF, context
            assert live["moveout_date"] is None and live["moveout_plans_date"] is None, context
            continue
        assert live["move_in_date"] <= AS_OF, context
        if status == contract.STATUS_IN_RESIDENCE:
            assert live["moveout_date"] is None and live["moveout_plans_date"] is None, context
        elif status == contract.STATUS_MOVEOUT_NOTICE:
            assert live["moveout_date"] is None and live["moveout_plans_date"] > AS_OF, context
        else:
            assert status == contract.STATUS_MOVED_OUT
            left = live["moveout_date"] or live["moveout_plans_date"]
            assert left is not None and left <= AS_OF, context


def test_ended_contracts_of_live_tenants_are_closed(world):
    """Room transfers and re-contracts leave the earlier moving with an end date."""
    for movings in movings_by_tenant(world).values():
        active = [m for m in movings if not m["cancel_flag"]]
        for earlier in active[:-1]:
            assert earlier["moveout_date"] or earlier["moveout_plans_date"], earlier
            end = earlier["moveout_date"] or earlier["moveout_plans_date"]
            assert end <= AS_OF


def test_rooms_are_never_double_booked_and_status_matches(world):
    by_tenant = movings_by_tenant(world)
    holders: dict[int, list[int]] = defaultdict(list)
    for tenant in world["tenants"]:
        if 4 <= tenant["status"] <= 7:
            holders[live_moving(by_tenant[tenant["id"]])["room_id"]].append(tenant["status"])
    expected = {4: 2, 5: 2, 6: 3, 7: 4}
    for room in world["rooms"]:
        statuses = holders.get(room["id"], [])
        assert len(statuses) <= 1, room
        if statuses:
            assert room["status"] == expected[statuses[0]], (room, statuses)
        else:
            assert room["status"] in (generator.ROOM_VACANT, generator.ROOM_CLOSED), room


def test_moves_happen_on_both_sides_of_as_of(world):
    movings = [m for m in world["movings"] if not m["cancel_flag"]]
    future_in = [(m["move_in_date"] - AS_OF).days for m in movings if m["move_in_date"] > AS_OF]
    past_in = [m for m in movings if AS_OF - timedelta(days=30) < m["move_in_date"] <= AS_OF]
    future_out = [(m["moveout_plans_date"] - AS_OF).days for m in movings
                  if m["moveout_date"] is None and m["moveout_plans_date"] and m["moveout_plans_date"] > AS_OF]
    past_out = [m for m in movings if m["moveout_date"] and AS_OF - timedelta(days=30) < m["moveout_date"] <= AS_OF]
    assert future_in and past_in and future_out and past_out
    assert max(future_in) <= 60 and max(future_out) <= 60


def test_agreement_type_and_legacy_contract_type_agree_with_the_seed(world):
    path = include_dir() / "dbt" / "seeds" / "legacy_contract_type.csv"
    with path.open(encoding="utf-8") as handle:
        mapping = {int(r["legacy_contract_type_code"]): int(r["agreement_type_code"]) for r in csv.DictReader(handle)}
    movings = world["movings"]
    assert {m["moving_agreement_type"] for m in movings} == {1, 2, 3, 4, 5}
    for moving in movings:
        assert mapping[moving["contract_type"]] == moving["moving_agreement_type"], moving
        if moving["contract_type"] in (3, 6, 9):
            assert moving["created_at"].date() < generator.LEGACY_CONTRACT_CODES_UNTIL, moving
    assert {3, 6, 9} <= {m["contract_type"] for m in movings}


def test_some_tenants_have_several_movings_and_some_rows_are_cancelled(world):
    per_tenant = Counter(m["tenant_id"] for m in world["movings"])
    assert sum(1 for n in per_tenant.values() if n > 1) > 0.05 * len(per_tenant)
    cancelled = [m for m in world["movings"] if m["cancel_flag"] == 1]
    assert 0 < len(cancelled) < 0.15 * len(world["movings"])
    legacy_gap = [m for m in world["movings"] if m["moveout_date"] is None and m["moveout_plans_date"]
                  and m["moveout_plans_date"] <= AS_OF]
    assert legacy_gap, "some moved-out rows only have moveout_plans_date"


def test_ids_follow_creation_time(world):
    for table in ("tenants", "movings", "apartments", "inquiries", "rooms"):
        stamps = [r["created_at"] for r in world[table]]
        assert stamps == sorted(stamps), table
        assert [r["id"] for r in world[table]] == list(range(1, len(stamps) + 1)), table
        assert all(r["updated_at"] >= r["created_at"] for r in world[table]), table


def test_inquiries_hold_the_early_funnel(world):
    inquiries = world["inquiries"]
    assert len(inquiries) > len(world["tenants"])
    linked = sum(1 for i in inquiries if i["tenant_id"] is not None)
    assert 0 < linked < 0.3 * len(inquiries)
    assert all(i["inquired_at"] <= i["created_at"] for i in inquiries)


def test_nationality_is_messy_free_text(world):
    values = Counter(t["nationality"] for t in world["tenants"])
    assert len(values) >= 40
    for spelling in ("ベトナム", "Vietnam", "中国", "韓国", "ネパール", "ミャンマー", None, ""):
        assert spelling in values, spelling
    assert any(v and re.search(r"[\uff66-\uff9f]", v) for v in values), "half-width katakana"
    assert any(v and re.search(r"[\uff21-\uff3a]", v) for v in values), "full-width Latin"
    assert any(v is not None and v != v.strip() for v in values), "stray whitespace"
    japanese = sum(n for v, n in values.items() if v and v.strip() in ("日本", "Japan", "JPN", "日本国", "JAPAN", "japan", "ＪＡＰＡＮ", "ﾆﾎﾝ"))
    assert 0.35 < japanese / len(world["tenants"]) < 0.55


def test_names_mix_scripts_and_people_data_has_gaps(world):
    names = [t["full_name"] for t in world["tenants"]]
    kanji = sum(1 for n in names if re.fullmatch(r"[\u4e00-\u9fff々]+[ 　]*[\u4e00-\u9fff々ぁ-ん]+ ?", n))
    latin = sum(1 for n in names if re.fullmatch(r"[A-Z' ]+", n))
    katakana = sum(1 for n in names if "・" in n)
    assert kanji > 0.3 * len(names) and latin > 0.1 * len(names) and katakana > 0.02 * len(names)
    tenants = world["tenants"]
    assert {t["gender"] for t in tenants} == {0, 1, 2}
    assert any(t["birth_date"] is None for t in tenants) and any(t["email"] is None for t in tenants)
    assert sum(1 for t in tenants if t["email"] and "@" in t["email"]) > 0.8 * len(tenants)


def test_addresses_are_japanese_and_inconsistent(world):
    apartments = world["apartments"]
    prefectures = {a["prefecture"] for a in apartments}
    assert {"東京都", "神奈川県", "埼玉県", "千葉県", "大阪府", None} <= prefectures
    assert sum(1 for a in apartments if a["municipality"] is None) > 0.5 * len(apartments)
    assert any(a["municipality"] for a in apartments)
    assert any(not a["address"].startswith(("東京都", "神奈川県", "埼玉県", "千葉県", "大阪府", "〒"))
               for a in apartments), "some addresses lack the prefecture"
    assert any(re.search(r"[０-９]", a["address"]) for a in apartments), "full-width digits"
    assert all("β" in a["name"] for a in apartments)


# --- scale -------------------------------------------------------------------------------

def test_row_counts_scale_roughly_linearly():
    small, large = contract_rows(AS_OF, 0.1), contract_rows(AS_OF, WORLD_SCALE)
    for name in small:
        ratio = len(large[name]) / len(small[name])
        assert 1.6 < ratio < 2.5, (name, len(small[name]), len(large[name]))


def test_other_tables_are_sized_by_the_budget():
    budget_mb = 2.0
    tables = generate_tables(AS_OF, SMALL, 42, other_mb=budget_mb)
    others = [name for name in tables if name not in generator.CONTRACT_COLUMNS]
    assert {"tenants_archive", "access_logs", "mail_queue", "payments", "movings_history"} <= set(others)
    dumped = sum(len(sql.encode()) for name in others
                 for sql, _ in insert_statements(name, tables[name].columns, tables[name].rows))
    assert 0.75 * budget_mb * 1e6 < dumped < 1.25 * budget_mb * 1e6
