"""What the model is asked and how its reply is judged. Pure.

A prompt version is part of every cache key: change a prompt only by adding a new version
here and pointing ENRICHMENT_PROMPT_VERSION at it, so answers given to the old prompt are not
mistaken for answers to the new one. The model sees one value per call and nothing else: the
nationality text or the address text, never a name, e-mail or birth date.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Literal

from tokyobeta.enrich import municipality, nationality

Task = Literal["nationality", "municipality"]

PROMPTS: dict[str, dict[str, str]] = {
    "v1": {
        "nationality": (
            "You normalise the nationality field of a Tokyo share-house operator's tenant records. "
            "The user message is the raw text staff typed, in any language or script, possibly misspelled. "
            "Reply with one JSON object and nothing else: {\"country_code\": \"XX\"} where XX is the "
            "ISO 3166-1 alpha-2 code of the one country the text names, or {\"country_code\": \"UNKNOWN\"} "
            "when it names no country, several countries, or you are not sure."
        ),
        "municipality": (
            "You read Japanese property addresses. The user message is one address as staff typed it. "
            "Reply with one JSON object and nothing else: {\"prefecture\": \"...\", \"municipality\": \"...\"} "
            "naming the prefecture (e.g. 東京都) and the municipality (市区町村) the address is in, written as "
            "in the official list: a Tokyo special ward as 新宿区, a designated city's ward as 横浜市港北区, "
            "a city as 八王子市, a town or village with its district as 入間郡三芳町. "
            "Reply {\"prefecture\": null, \"municipality\": null} when the address does not tell."
        ),
    },
}


def system_prompt(task: Task, version: str) -> str:
    if version not in PROMPTS:
        raise ValueError(f"ENRICHMENT_PROMPT_VERSION={version!r} has no prompt; known versions: {', '.join(PROMPTS)}")
    return PROMPTS[version][task]


@dataclass(frozen=True)
class Judged:
    """A model reply after validation. answer is None for UNKNOWN (said or imposed)."""

    answer: nationality.Country | municipality.Place | None
    valid: bool
    reason: str = ""


def _json_object(reply: str) -> dict:
    """The one JSON object in a reply (models sometimes wrap it in a code fence)."""
    found = re.search(r"\{.*\}", reply, re.DOTALL)
    if not found:
        raise ValueError("no JSON object in the reply")
    value = json.loads(found.group(0))
    if not isinstance(value, dict):
        raise ValueError("the reply is not a JSON object")
    return value


def judge_nationality(reply: str) -> Judged:
    try:
        code = _json_object(reply).get("country_code")
    except ValueError as exc:
        return Judged(None, False, str(exc))
    if not isinstance(code, str):
        return Judged(None, False, "country_code missing or not a string")
    code = code.strip().upper()
    if code == nationality.UNKNOWN:
        return Judged(None, True, "the model does not know")
    if len(code) != 2 or not nationality.is_country_code(code):
        return Judged(None, False, f"{code!r} is not an ISO 3166-1 alpha-2 code")
    return Judged(nationality.country(code), True)


def judge_municipality(reply: str, address: str) -> Judged:
    try:
        obj = _json_object(reply)
    except ValueError as exc:
        return Judged(None, False, str(exc))
    prefecture, name = obj.get("prefecture"), obj.get("municipality")
    if name is None:
        return Judged(None, True, "the model does not know")
    if not isinstance(name, str) or not (prefecture is None or isinstance(prefecture, str)):
        return Judged(None, False, "prefecture/municipality are not strings")
    reg = municipality.registry()
    row = reg.lookup(prefecture, name)
    if row is None:
        return Judged(None, False, f"{prefecture or ''}{name} is not in the official list of municipalities")
    if not reg.appears_in(row, address):
        return Judged(None, False, f"{row.prefecture}{row.municipality} does not match the address text")
    return Judged(municipality.Place.of(row), True)


def judge(task: Task, reply: str, text: str) -> Judged:
    return judge_nationality(reply) if task == "nationality" else judge_municipality(reply, text)
