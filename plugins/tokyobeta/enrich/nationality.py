"""Nationality free text -> ISO 3166-1 alpha-2 by rules. Pure: no I/O beyond pycountry's data.

pycountry supplies every country's English names and Japanese translation; ALIASES only adds
what it lacks (common abbreviations, katakana spellings, misspellings seen in the source).
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pycountry

UNKNOWN = "UNKNOWN"

ALIASES: dict[str, str] = {
    "vietnam": "VN", "vn": "VN", "viet nam": "VN", "越南": "VN", "ベトナム国": "VN",
    "china": "CN", "prc": "CN", "中華人民共和国": "CN",
    "korea": "KR", "south korea": "KR", "rok": "KR", "韓国": "KR",
    "japan": "JP", "日本国": "JP",
    "usa": "US", "u.s.a.": "US", "u.s.a": "US", "us": "US", "america": "US", "アメリカ": "US",
    "uk": "GB", "england": "GB", "イギリス": "GB",
    "taiwan": "TW", "台湾": "TW",
    "burma": "MM",
    "phillipines": "PH",
}


@dataclass(frozen=True)
class Country:
    code: str
    label_en: str
    label_ja: str


def normalize(raw: str | None) -> str:
    """NFKC folds full-width Latin and half-width katakana; casefold and inner spaces last."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    return re.sub(r"\s+", " ", text)


@lru_cache(maxsize=1)
def _ja() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ja"], fallback=True)


def country(code: str) -> Country:
    entry = pycountry.countries.get(alpha_2=code)
    if entry is None:
        raise KeyError(code)
    english = getattr(entry, "common_name", None) or entry.name
    return Country(code, english, _ja().gettext(entry.name))


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    index: dict[str, str] = {}
    for entry in pycountry.countries:
        names = {entry.alpha_2, entry.alpha_3, entry.name, getattr(entry, "common_name", ""),
                 getattr(entry, "official_name", ""), _ja().gettext(entry.name)}
        for name in filter(None, names):
            index.setdefault(normalize(name), entry.alpha_2)
    index.update({normalize(alias): code for alias, code in ALIASES.items()})
    return index


def resolve(raw: str | None) -> Country | None:
    """The country the rules are sure of, or None when only a model could tell."""
    key = normalize(raw)
    if not key:
        return None
    code = _index().get(key)
    return country(code) if code else None
