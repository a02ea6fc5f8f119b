"""The offline provider: deterministic, no network, answers only what it can match."""

from __future__ import annotations

import json

from tokyobeta.enrich import prompts
from tokyobeta.enrich.providers import OfflineProvider


def answer(provider, task, text):
    judged = prompts.judge(task, provider.ask(task, text), text)
    assert judged.valid, judged.reason
    return judged.answer


def test_close_misspellings_resolve_and_the_rest_stays_unknown():
    offline = OfflineProvider()
    assert answer(offline, "nationality", "vietnan").code == "VN"
    assert answer(offline, "nationality", "indonesa").code == "ID"
    assert answer(offline, "nationality", "phillipins").code == "PH"
    assert answer(offline, "nationality", "asia") is None
    assert answer(offline, "nationality", "japan/usa") is None
    assert answer(offline, "nationality", "vnm1") is None


def test_a_municipality_named_once_in_the_address_resolves():
    offline = OfflineProvider()
    assert answer(offline, "municipality", "東京都新宿西新宿1-1").municipality == "新宿区"
    assert answer(offline, "municipality", "神奈川県港北日吉4-1-1").municipality == "横浜市港北区"
    assert answer(offline, "municipality", "西新宿2-8-1").municipality == "新宿区"  # only 新宿区 has that stem
    assert answer(offline, "municipality", "2-8-1 Nishi-Shinjuku, Tokyo") is None
    assert answer(offline, "municipality", "東京都中央1-1").municipality == "中央区"  # 中央市 is in 山梨県
    assert answer(offline, "municipality", "東京都中野新宿1-1") is None  # two wards named: no guess


def test_deterministic_and_records_what_it_was_asked():
    first, second = OfflineProvider(), OfflineProvider()
    texts = ["vietnan", "ｍｏｎｇｏｌｉａｎ", "asia", "deutchland"]
    assert [first.ask("nationality", t) for t in texts] == [second.ask("nationality", t) for t in texts]
    assert first.questions == [("nationality", t) for t in texts]
    assert json.loads(first.ask("municipality", "")) == {"prefecture": None, "municipality": None}
    assert first.usage()["attempts"] == len(texts) + 1
