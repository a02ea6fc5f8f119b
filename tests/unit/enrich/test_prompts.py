"""Every model reply is judged before it is believed: a known ISO code, or a municipality of
the official list that the address itself names."""

from __future__ import annotations

import pytest

from tokyobeta.enrich import prompts


@pytest.mark.parametrize("reply, code, valid", [
    ('{"country_code": "VN"}', "VN", True),
    ('```json\n{"country_code": "np"}\n```', "NP", True),
    ('Sure! {"country_code": "KR"} is my answer.', "KR", True),
    ('{"country_code": "UNKNOWN"}', None, True),
    ('{"country_code": "XX"}', None, False),
    ('{"country_code": "VNM"}', None, False),
    ('{"country_code": 84}', None, False),
    ('{"country": "VN"}', None, False),
    ("Vietnam", None, False),
    ("", None, False),
    ('{"country_code": "VN"', None, False),
])
def test_nationality_replies(reply, code, valid):
    judged = prompts.judge("nationality", reply, "vietnan")
    assert judged.valid is valid, judged.reason
    assert (judged.answer.code if judged.answer else None) == code
    if not valid:
        assert judged.reason


ADDRESS = "東京都新宿西新宿1-1"


@pytest.mark.parametrize("reply, municipality, valid", [
    ('{"prefecture": "東京都", "municipality": "新宿区"}', "新宿区", True),
    ('{"prefecture": null, "municipality": "新宿区"}', "新宿区", True),
    ('{"prefecture": null, "municipality": null}', None, True),
    ('{"prefecture": "東京都", "municipality": "渋谷区"}', None, False),      # real, but not this address
    ('{"prefecture": "東京都", "municipality": "新宿市"}', None, False),      # not in the official list
    ('{"prefecture": "神奈川県", "municipality": "新宿区"}', None, False),    # wrong prefecture
    ('{"prefecture": "東京都", "municipality": 13104}', None, False),
    ("新宿区です", None, False),
])
def test_municipality_replies(reply, municipality, valid):
    judged = prompts.judge("municipality", reply, ADDRESS)
    assert judged.valid is valid, judged.reason
    assert (judged.answer.municipality if judged.answer else None) == municipality


def test_a_ward_answer_is_canonicalised_to_the_official_label():
    judged = prompts.judge("municipality", '{"prefecture": "神奈川県", "municipality": "港北区"}', "神奈川県港北日吉1-1")
    assert judged.valid and (judged.answer.municipality, judged.answer.code) == ("横浜市港北区", "141097")


def test_the_prefecture_name_does_not_count_as_naming_a_ward():
    judged = prompts.judge("municipality", '{"prefecture": "神奈川県", "municipality": "横浜市神奈川区"}', "神奈川県港北日吉1-1")
    assert not judged.valid


def test_an_address_naming_another_prefecture_rejects_the_answer():
    judged = prompts.judge("municipality", '{"prefecture": "東京都", "municipality": "新宿区"}', "埼玉県新宿1-1")
    assert not judged.valid


def test_unknown_prompt_version_names_the_setting():
    assert "ISO 3166-1 alpha-2" in prompts.system_prompt("nationality", "v1")
    with pytest.raises(ValueError, match="ENRICHMENT_PROMPT_VERSION='v9' has no prompt; known versions: v1"):
        prompts.system_prompt("nationality", "v9")
