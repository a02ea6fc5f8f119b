"""Municipality rules against the official list shipped in enrich/data: the committed list of
addresses resolves as written down, and the list itself is complete and consistent."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from tokyobeta.enrich import municipality as m

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "enrichment" / "addresses.csv"
ADDRESSES = list(csv.DictReader(FIXTURE.open(encoding="utf-8")))


def test_fixture_is_big_enough_and_covers_every_shape():
    assert len(ADDRESSES) >= 60
    kinds = Counter(m.registry().lookup(r["prefecture"], r["municipality"]).kind
                    for r in ADDRESSES if r["municipality"])
    assert kinds["special_ward"] >= 20 and kinds["ward"] >= 15 and kinds["town"] + kinds["village"] >= 8
    assert kinds["city"] >= 15 and kinds["designated_city"] >= 1
    assert any(not r["address"].startswith(r["prefecture"]) for r in ADDRESSES if r["municipality"])
    assert any("１" in r["address"] or "　" in r["address"] for r in ADDRESSES)


@pytest.mark.parametrize("row", ADDRESSES, ids=[r["address"] or "<empty>" for r in ADDRESSES])
def test_address(row):
    place = m.resolve(row["address"], row["prefecture_column"] or None)
    got = (place.prefecture, place.municipality) if place else ("", "")
    assert got == (row["prefecture"], row["municipality"])


def check_digit(code5: str) -> str:
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - total % 11) % 10)


def test_official_list_is_complete_and_consistent():
    rows = m.registry().rows
    kinds = Counter(r.kind for r in rows)
    # 1,741 municipalities (792 cities incl. 20 designated, 743 towns, 183 villages, 23 wards)
    # plus the designated cities' 171 wards.
    assert kinds == {"city": 772, "designated_city": 20, "town": 743, "village": 183, "special_ward": 23, "ward": 171}
    assert len(m.registry().prefectures) == 47
    assert all(len(r.code) == 6 and r.code[5] == check_digit(r.code[:5]) for r in rows)
    assert len({r.code for r in rows}) == len(rows)
    by_code = {r.code: r for r in rows}
    assert by_code["131016"].municipality == "千代田区"
    assert by_code["141003"].municipality == "横浜市"
    assert (by_code["113247"].district, by_code["113247"].name) == ("入間郡", "三芳町")


def test_every_municipality_is_reachable_by_its_own_names():
    reg = m.registry()
    for row in reg.rows:
        for spelling in row.spellings:
            assert reg.parse(row.prefecture + spelling + "1-1") == row, spelling
        assert reg.lookup(row.prefecture, row.municipality) == row


def test_names_two_prefectures_share_need_the_prefecture():
    reg = m.registry()
    assert reg.parse("府中市宮町1-1") is None
    assert reg.parse("府中市宮町1-1", "東京都").municipality == "府中市"
    assert reg.parse("広島県府中市府川町315").prefecture == "広島県"


def test_normalize_is_what_the_model_sees():
    assert m.normalize("東京都　新宿区 西新宿２－８－１ ") == "東京都 新宿区 西新宿2-8-1"
    assert m.normalize(None) == ""
