"""Japanese address -> (prefecture, municipality) by rules. Pure.

Municipality (市区町村) as dashboards group it: a Tokyo special ward (新宿区), a designated
city's ward (横浜市港北区), a city (八王子市), or a town/village with its district (入間郡三芳町).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

_PREFECTURE = r"(?P<pref>東京都|北海道|(?:京都|大阪)府|[^\s都道府県]{2,3}県)?"
_MUNICIPALITY = (r"(?P<muni>"
                 r"\S[^\s市区町村郡]*?郡\S[^\s市区町村郡]*?[町村]"   # 郡 + 町/村
                 r"|\S[^\s市区町村郡]*?市\S[^\s市区町村郡]*?区"      # designated city + ward
                 r"|\S[^\s市区町村郡]*?[市区町村])")
_ADDRESS = re.compile(r"^\s*" + _PREFECTURE + r"\s*" + _MUNICIPALITY)


@dataclass(frozen=True)
class Place:
    prefecture: str | None
    municipality: str


def normalize(address: str | None) -> str:
    if not address:
        return ""
    text = unicodedata.normalize("NFKC", address)
    return re.sub(r"\s+", " ", text).strip()


def parse(address: str | None) -> Place | None:
    text = normalize(address).replace(" ", "")
    m = _ADDRESS.match(text)
    if not m:
        return None
    return Place(m.group("pref"), m.group("muni"))
