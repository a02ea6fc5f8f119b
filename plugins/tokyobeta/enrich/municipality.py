"""Japanese address -> (prefecture, municipality) by rules, matched against the official list
of municipalities shipped in data/municipalities.csv (see data/README.md). Pure.

Municipality (市区町村) as dashboards group it: a Tokyo special ward (新宿区), a designated
city's ward (横浜市港北区), a city (八王子市), a town or village with its district
(入間郡三芳町). The rules read the prefecture (full name, or the short name when a municipality
of that prefecture follows) and then the longest official name the address starts with; the
address may omit the prefecture, the district, or (when the ward's name is unique) the
designated city. An address that names a designated city but no ward resolves to the city:
the rules do not guess a ward from the town name.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Iterable

# Spellings of one official name: small and large ケ (鎌ケ谷市/鎌ヶ谷市), and variant kanji
# people type for the official ones. Folded on both sides, so folding never changes an answer.
_FOLD = str.maketrans({"ヶ": "ケ", "ヵ": "ケ", "ｹ": "ケ", "﨑": "崎", "髙": "高", "龍": "竜", "邊": "辺", "邉": "辺"})
_POSTAL = re.compile(r"^(?:〒|郵便番号:?)?\d{3}-?\d{4}")
_COUNTRY = re.compile(r"^(?:日本国|日本|japan,?)", re.IGNORECASE)


@dataclass(frozen=True)
class Municipality:
    code: str          # 全国地方公共団体コード, 6 digits with the check digit
    prefecture: str
    municipality: str  # the dashboard label: 横浜市港北区, 入間郡三芳町, 新宿区
    kind: str          # special_ward | ward | city | town | village | designated_city
    district: str      # 郡 (or island) a town or village sits in; "" otherwise
    city: str          # the designated city of a ward; "" otherwise
    name: str          # the ministry's name of this level alone: 三芳町, 港北区, 横浜市
    kana: str
    variants: tuple[str, ...]

    @property
    def spellings(self) -> tuple[str, ...]:
        """Full names an address may start with (with and without the district)."""
        names = (self.name, *self.variants)
        return tuple(dict.fromkeys([self.municipality, *(self.city + self.district + n for n in names),
                                    *(self.city + n for n in names)]))

    def stems(self) -> tuple[str, ...]:
        """Names without the 市/区/町/村 suffix, for checking that a model's answer appears in
        the text; one-character stems (北区) say too little and are left out."""
        return tuple(n[:-1] for n in (self.name, *self.variants) if len(n) > 2)


@dataclass(frozen=True)
class Place:
    prefecture: str
    municipality: str
    code: str | None = None

    @classmethod
    def of(cls, row: Municipality) -> "Place":
        return cls(row.prefecture, row.municipality, row.code)


def normalize(address: str | None) -> str:
    """What the cache is keyed by and the model is shown: NFKC (full-width digits and Latin,
    half-width katakana), spaces collapsed."""
    if not address:
        return ""
    text = unicodedata.normalize("NFKC", address)
    return re.sub(r"\s+", " ", text).strip()


def fold(text: str) -> str:
    """What the rules compare: normalize() without spaces, with variant spellings folded."""
    return normalize(text).replace(" ", "").translate(_FOLD)


class Registry:
    """The official list and the indexes the rules match against."""

    def __init__(self, rows: Iterable[Municipality]):
        self.rows = tuple(rows)
        self.prefectures = tuple(dict.fromkeys(r.prefecture for r in self.rows))
        self.short_prefectures = {p if p == "北海道" else p[:-1]: p for p in self.prefectures}
        # Per prefecture: official spellings first; a designated city's ward on its own (港北区)
        # only where no other municipality of the prefecture has that name.
        self.by_prefecture: dict[str, dict[str, Municipality]] = {}
        for prefecture in self.prefectures:
            rows_here = [r for r in self.rows if r.prefecture == prefecture]
            primary = _unique((fold(s), r) for r in rows_here for s in r.spellings)
            bare_wards = _unique((fold(n), r) for r in rows_here if r.kind == "ward" for n in (r.name, *r.variants))
            self.by_prefecture[prefecture] = {**{k: v for k, v in bare_wards.items() if k not in primary}, **primary}
        # Without a prefecture only names that one municipality in Japan carries. Tokyo's 北区
        # is the only municipality officially named 北区 (Osaka's is 大阪市北区), so it stays.
        primary = _unique((fold(s), r) for r in self.rows for s in r.spellings)
        bare_wards = _unique((fold(n), r) for r in self.rows if r.kind == "ward" for n in (r.name, *r.variants))
        self.national = {**{k: v for k, v in bare_wards.items() if k not in primary}, **primary}
        self.longest = max(len(k) for k in self.national)

    def prefecture_of(self, text: str | None) -> str | None:
        """The official prefecture a value names (東京都, 東京), or None."""
        folded = fold(text or "")
        return folded if folded in self.by_prefecture else self.short_prefectures.get(folded)

    def _longest(self, index: dict[str, Municipality], text: str) -> Municipality | None:
        for length in range(min(self.longest, len(text)), 1, -1):
            found = index.get(text[:length])
            if found is not None:
                return found
        return None

    def _parse_at(self, text: str, hint: str | None) -> Municipality | None:
        for prefecture in sorted(self.prefectures, key=len, reverse=True):
            if text.startswith(prefecture):
                return self._longest(self.by_prefecture[prefecture], text[len(prefecture):])
        for short, prefecture in self.short_prefectures.items():
            if text.startswith(short):
                found = self._longest(self.by_prefecture[prefecture], text[len(short):])
                if found is not None:
                    return found
        if hint is not None:
            return self._longest(self.by_prefecture[hint], text)
        return self._longest(self.national, text)

    def parse(self, address: str | None, prefecture_hint: str | None = None) -> Municipality | None:
        text = _COUNTRY.sub("", _POSTAL.sub("", fold(address or "")))
        if not text:
            return None
        hint = self.prefecture_of(prefecture_hint)
        found = self._parse_at(text, hint)
        if found is not None:
            return found
        # A building name or a note before the address: start again at the first prefecture.
        starts = sorted(i for i in (text.find(p) for p in self.prefectures) if i > 0)
        return self._parse_at(text[starts[0]:], hint) if starts else None

    def resolve(self, address: str | None, prefecture: str | None = None,
                municipality: str | None = None) -> tuple[Municipality | None, bool]:
        """The municipality the rules are sure of, and whether the address alone said so: else
        the source's own prefecture column helped, or its municipality column named an official
        municipality."""
        found = self.parse(address, prefecture)
        if found is not None:
            return found, self.parse(address) == found
        if municipality:
            found = self.parse(f"{prefecture or ''}{municipality}", prefecture)
        return found, False

    def prefecture_named(self, address: str | None) -> str | None:
        """The first prefecture the address names in full, or None."""
        text = _COUNTRY.sub("", _POSTAL.sub("", fold(address or "")))
        named = sorted((text.find(p), p) for p in self.prefectures if p in text)
        return named[0][1] if named else None

    def lookup(self, prefecture: str | None, municipality: str | None) -> Municipality | None:
        """The official row a (prefecture, municipality) answer names, or None."""
        name = fold(municipality or "")
        if not name:
            return None
        pref = self.prefecture_of(prefecture)
        if prefecture and pref is None:
            return None
        return (self.by_prefecture[pref] if pref else self.national).get(name)

    def appears_in(self, row: Municipality, address: str) -> bool:
        """Does the address text name this municipality (or its stem) and no other prefecture?"""
        text, named = self.without_prefectures(address)
        if named and row.prefecture not in named:
            return False
        return any(fold(s) in text for s in (*row.spellings, *row.stems()))

    def without_prefectures(self, address: str) -> tuple[str, list[str]]:
        """The folded address with the prefecture names it contains cut out (so 神奈川県 does
        not count as naming 神奈川区), and those names."""
        text = fold(address)
        named = [p for p in self.prefectures if p in text]
        for prefecture in named:
            text = text.replace(prefecture, " ")
        return text, named


def _unique(pairs: Iterable[tuple[str, Municipality]]) -> dict[str, Municipality]:
    """key -> row, leaving out keys two different rows claim."""
    seen: dict[str, Municipality | None] = {}
    for key, row in pairs:
        seen[key] = row if seen.get(key, row) == row else None
    return {k: v for k, v in seen.items() if v is not None}


@lru_cache(maxsize=1)
def registry() -> Registry:
    text = resources.files("tokyobeta.enrich").joinpath("data", "municipalities.csv").read_text("utf-8")
    return Registry(Municipality(code=r["code"], prefecture=r["prefecture"], municipality=r["municipality"],
                                 kind=r["kind"], district=r["district"], city=r["city"], name=r["name"],
                                 kana=r["kana"], variants=tuple(v for v in r["variants"].split("|") if v))
                    for r in csv.DictReader(text.splitlines()))


def resolve(address: str | None, prefecture: str | None = None, municipality: str | None = None) -> Place | None:
    """The place the rules are sure of (see Registry.resolve)."""
    found, _ = registry().resolve(address, prefecture, municipality)
    return Place.of(found) if found is not None else None
