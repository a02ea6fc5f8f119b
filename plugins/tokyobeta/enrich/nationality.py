"""Nationality free text -> ISO 3166-1 alpha-2 by rules. Pure: no I/O beyond the data files
shipped with pycountry and this package.

pycountry supplies every country's codes, English names and their translations; the index is
built from English and Japanese first, then from the languages tenants write in (a spelling
that two countries claim in those languages is dropped as ambiguous). data/nationality_aliases.csv
only adds what pycountry lacks: current Japanese names it does not know yet, katakana and kanji
variants, demonyms, abbreviations and misspellings seen in the source.
"""

from __future__ import annotations

import csv
import gettext
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import pycountry

UNKNOWN = "UNKNOWN"

# Languages the translations are taken from after English and Japanese: the tenants' own.
EXTRA_LOCALES = ("zh_CN", "zh_TW", "zh_HK", "ko", "vi", "th", "id", "ms", "ne", "my", "mn", "fil", "tl",
                 "si", "hi", "bn", "ur", "km", "lo", "uz", "ka", "ru", "uk", "pt", "pt_BR", "es", "fr",
                 "de", "it", "nl", "tr")

# What staff type when they do not know: answered UNKNOWN by rule, never sent to a model.
# "na" is here and not Namibia: in this field it means "not available".
PLACEHOLDERS = frozenset({
    "", "na", "n/a", "none", "null", "nil", "unknown", "unk", "other", "others", "stateless", "tbd", "x", "xx",
    "不明", "未確認", "未定", "なし", "無し", "無", "その他", "無国籍", "-", "ー", "?",
})

# Words around a country name: "ベトナム国籍", "中国人", "国籍: ネパール", "Chinese citizen".
_SUFFIXES = ("国籍", "籍", "人", "国", "citizen", "nationality", "national", "passport")
_PREFIXES = ("国籍", "nationality", "citizenof")
_SEPARATORS = re.compile(r"[/／()（）\[\]【】「」,，、;；|｜]+")
_DASH_AFTER_KANA = re.compile(r"(?<=[\u30a1-\u30fa\u30fc])[-‐‑‒–—―−~〜](?=[\u30a1-\u30fa]|$)")
_NOT_WORD = re.compile(r"[\W_]+")


@dataclass(frozen=True)
class Country:
    code: str
    label_en: str
    label_ja: str


def normalize(raw: str | None) -> str:
    """What the cache is keyed by and the model is shown: NFKC (full-width Latin and half-width
    katakana folded), case folded, spaces collapsed."""
    if raw is None:
        return ""
    text = unicodedata.normalize("NFKC", raw).strip().casefold()
    return re.sub(r"\s+", " ", text)


def match_key(raw: str | None) -> str:
    """What the rules compare: normalize() without Latin accents, punctuation or spaces, and
    with a dash between katakana read as the long-vowel mark (ネパ－ル is ネパール)."""
    text = normalize(raw)
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not "\u0300" <= ch <= "\u036f")
    text = unicodedata.normalize("NFC", text)
    text = _DASH_AFTER_KANA.sub("ー", text)
    return _NOT_WORD.sub("", text)


@lru_cache(maxsize=None)
def _translations(locale: str) -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[locale], fallback=True)


def _names(entry) -> list[str]:
    return [n for n in (getattr(entry, "common_name", None), entry.name, getattr(entry, "official_name", None)) if n]


def _spellings(name: str) -> list[str]:
    """A translated name and, for "大韓民国 (韓国)", each part on its own."""
    out = [name]
    if "(" in name:
        out += [part for part in re.split(r"\s*[()]\s*", name) if part]
    return out


@lru_cache(maxsize=None)
def country(code: str) -> Country:
    entry = pycountry.countries.get(alpha_2=code)
    if entry is None:
        raise KeyError(f"{code!r} is not an ISO 3166-1 alpha-2 code")
    english = getattr(entry, "common_name", None) or entry.name
    ja = _translations("ja")
    japanese = next((ja.gettext(n) for n in _names(entry) if ja.gettext(n) != n), english)
    return Country(entry.alpha_2, english, japanese)


def is_country_code(code: str) -> bool:
    return pycountry.countries.get(alpha_2=code) is not None


@lru_cache(maxsize=1)
def _pycountry_index() -> dict[str, str]:
    """match_key -> alpha-2 from pycountry alone (English, Japanese, then EXTRA_LOCALES)."""
    index: dict[str, str] = {}
    for entry in pycountry.countries:
        ja = _translations("ja")
        for name in [entry.alpha_2, entry.alpha_3, *_names(entry)] + [s for n in _names(entry) for s in _spellings(ja.gettext(n))]:
            key = match_key(name)
            if key and key not in PLACEHOLDERS:
                index.setdefault(key, entry.alpha_2)
    claims: dict[str, set[str]] = {}
    for locale in EXTRA_LOCALES:
        translations = _translations(locale)
        for entry in pycountry.countries:
            for name in _names(entry):
                for spelling in _spellings(translations.gettext(name)):
                    key = match_key(spelling)
                    if len(key) >= 2 and key not in index and key not in PLACEHOLDERS:
                        claims.setdefault(key, set()).add(entry.alpha_2)
    index.update({key: codes.pop() for key, codes in claims.items() if len(codes) == 1})
    return index


@lru_cache(maxsize=1)
def aliases() -> dict[str, str]:
    """match_key -> alpha-2 from data/nationality_aliases.csv."""
    text = resources.files("tokyobeta.enrich").joinpath("data", "nationality_aliases.csv").read_text("utf-8")
    out: dict[str, str] = {}
    for line_no, row in enumerate(csv.DictReader(text.splitlines()), start=2):
        key = match_key(row["alias"])
        if not is_country_code(row["code"]):
            raise ValueError(f"nationality_aliases.csv line {line_no}: {row['code']!r} is not an ISO 3166-1 alpha-2 code")
        if out.get(key, row["code"]) != row["code"]:
            raise ValueError(f"nationality_aliases.csv line {line_no}: {row['alias']!r} is listed for two countries")
        out[key] = row["code"]
    return out


@lru_cache(maxsize=1)
def _index() -> dict[str, str]:
    return {**_pycountry_index(), **aliases()}


def _lookup(key: str) -> str | None:
    index = _index()
    if key in index:
        return index[key]
    for prefix in _PREFIXES:
        if key.startswith(prefix) and key[len(prefix):] in index:
            return index[key[len(prefix):]]
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and key[:-len(suffix)] in index:
            return index[key[:-len(suffix)]]
    return None


def is_placeholder(raw: str | None) -> bool:
    """Empty or a stand-in for "unknown": nothing a model could add."""
    return normalize(raw) in PLACEHOLDERS or match_key(raw) in PLACEHOLDERS


def resolve(raw: str | None) -> Country | None:
    """The country the rules are sure of, or None when only a model could tell (placeholders
    are None too: check is_placeholder first)."""
    if is_placeholder(raw):
        return None
    code = _lookup(match_key(raw))
    if code is None:
        # "中国（China）", "Vietnam / ベトナム": every part must name the same country.
        parts = [key for key in map(match_key, _SEPARATORS.split(normalize(raw))) if key]
        codes = {_lookup(part) for part in parts}
        code = codes.pop() if len(parts) > 1 and len(codes) == 1 and None not in codes else None
    return country(code) if code else None


def known_spellings() -> dict[str, str]:
    """Every spelling the rules resolve directly (the offline provider's fuzzy-match targets)."""
    return dict(_index())
