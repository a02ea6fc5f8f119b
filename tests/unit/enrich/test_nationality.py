"""Nationality rules: the committed list of real-world spellings resolves as written down,
and the alias table only adds what pycountry lacks."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tokyobeta.enrich import nationality as n

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "enrichment" / "nationality_spellings.csv"
SPELLINGS = list(csv.DictReader(FIXTURE.open(encoding="utf-8")))


def rules_answer(raw: str) -> str:
    """UNKNOWN for a placeholder, the ISO code the rules are sure of, MODEL when they leave it."""
    if n.is_placeholder(raw):
        return n.UNKNOWN
    found = n.resolve(raw)
    return found.code if found else "MODEL"


def test_fixture_is_big_enough_and_covers_every_shape():
    assert len(SPELLINGS) >= 150
    raws = [r["raw"] for r in SPELLINGS]
    assert len(set(raws)) == len(raws)
    assert any(any("\uff61" <= ch <= "\uff9f" for ch in raw) for raw in raws), "half-width katakana"
    assert any(any("\uff21" <= ch <= "\uff5a" for ch in raw) for raw in raws), "full-width Latin"
    assert {r["expected"] for r in SPELLINGS} >= {"UNKNOWN", "MODEL", "JP", "VN", "CN", "KR", "NP"}


@pytest.mark.parametrize("row", SPELLINGS, ids=[r["raw"] or "<empty>" for r in SPELLINGS])
def test_real_world_spelling(row):
    assert rules_answer(row["raw"]) == row["expected"]


def test_width_case_and_dashes_fold():
    assert n.match_key("ＶＩＥＴＮＡＭ") == n.match_key("vietnam") == "vietnam"
    assert n.match_key("ﾈﾊﾟｰﾙ") == n.match_key("ネパ－ル") == "ネパール"
    assert n.match_key("Côte d’Ivoire") == n.match_key("cote d'ivoire")
    assert n.normalize("  Viet   Nam ") == "viet nam"


def test_labels_come_from_pycountry_in_english_and_japanese():
    assert n.country("KR") == n.Country("KR", "South Korea", "韓国")
    assert n.country("VN") == n.Country("VN", "Vietnam", "ベトナム")
    assert n.country("TW").label_ja == "台湾"
    assert n.country("JP").label_ja == "日本"
    with pytest.raises(KeyError, match="'ZZ' is not an ISO 3166-1 alpha-2 code"):
        n.country("ZZ")


def test_aliases_only_add_what_pycountry_lacks():
    base = n._pycountry_index()
    aliases = n.aliases()
    assert len(aliases) >= 100
    redundant = {k for k, code in aliases.items() if base.get(k) == code}
    contradicting = {k: (code, base[k]) for k, code in aliases.items() if k in base and base[k] != code}
    assert redundant == set(), "these aliases are already pycountry names: delete them"
    assert contradicting == {}


def test_pycountry_does_the_bulk():
    """Every officially assigned country resolves by its English name, codes and Japanese name
    without any alias: the alias table is not a hand-typed country list."""
    import pycountry

    for entry in pycountry.countries:
        for spelling in (entry.name, entry.alpha_2, entry.alpha_3):
            if spelling.casefold() in n.PLACEHOLDERS:
                continue
            assert n._pycountry_index()[n.match_key(spelling)] == entry.alpha_2, spelling
    assert len(n._pycountry_index()) > 5 * len(n.aliases())


def test_placeholders_are_not_countries():
    for raw in (None, "", "　", "-", "ー", "不明", "N/A", "NA", "unknown", "なし"):
        assert n.is_placeholder(raw), raw
        assert n.resolve(raw) is None
    assert not n.is_placeholder("Namibia") and n.resolve("Namibia").code == "NA"


def test_every_part_must_agree():
    assert n.resolve("中国（China）").code == "CN"
    assert n.resolve("Vietnam / ベトナム").code == "VN"
    assert n.resolve("Japan/USA") is None
