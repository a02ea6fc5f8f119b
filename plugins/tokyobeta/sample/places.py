"""Synthetic share-house sites: names, Japanese addresses and their messy variants.

Addresses are typed by staff, so the same structure (prefecture, municipality, town, chome,
block-number) arrives with or without the prefecture, with kanji or Arabic chome, in full-width
digits, with postal codes and building names glued on. `prefecture` is sometimes empty and
`municipality` mostly empty, as in production, which is why the pipeline enriches it.
"""

from __future__ import annotations

from dataclasses import dataclass
from random import Random

from tokyobeta.sample.people import pick_weighted


@dataclass(frozen=True)
class _Area:
    prefecture: str
    municipality: str
    label: str  # the short place name used in apartment names
    towns: tuple[str, ...]
    stations: tuple[str, ...]
    postal_prefix: str
    base_rent: int  # yen per month for a standard private room
    weight: float


def _areas(prefecture: str, rows: tuple[tuple[str, str, str, str, str, int, float], ...]) -> list[_Area]:
    return [
        _Area(prefecture, muni, label, tuple(towns.split()), tuple(stations.split()), postal, rent, weight)
        for muni, label, towns, stations, postal, rent, weight in rows
    ]


_TOKYO = "東京都"
_AREAS: tuple[_Area, ...] = tuple(
    # Tokyo 23 wards: the bulk of the portfolio.
    _areas(_TOKYO, (
        ("新宿区", "新宿", "西新宿 高田馬場 大久保 百人町", "新宿 高田馬場 新大久保", "169", 64000, 6),
        ("渋谷区", "渋谷", "代々木 笹塚 幡ヶ谷 本町", "代々木 笹塚 幡ヶ谷", "151", 66000, 3),
        ("中野区", "中野", "中野 東中野 野方 上高田", "中野 東中野 野方", "164", 58000, 5),
        ("杉並区", "高円寺", "高円寺南 阿佐谷北 荻窪 和田", "高円寺 阿佐ケ谷 荻窪", "166", 56000, 5),
        ("世田谷区", "三軒茶屋", "三軒茶屋 北沢 経堂 太子堂", "三軒茶屋 下北沢 経堂", "154", 60000, 4),
        ("豊島区", "池袋", "池袋 東池袋 巣鴨 南大塚", "池袋 大塚 巣鴨", "170", 60000, 5),
        ("北区", "赤羽", "赤羽 王子 十条仲原 田端", "赤羽 王子 十条", "115", 52000, 4),
        ("板橋区", "板橋", "大山町 板橋 成増 中板橋", "大山 板橋 成増", "173", 50000, 4),
        ("練馬区", "練馬", "練馬 石神井町 豊玉北 桜台", "練馬 石神井公園 桜台", "176", 50000, 4),
        ("品川区", "五反田", "大井 西五反田 戸越 荏原", "大井町 五反田 戸越銀座", "141", 62000, 3),
        ("目黒区", "中目黒", "中目黒 自由が丘 目黒本町", "中目黒 自由が丘 学芸大学", "153", 66000, 2),
        ("大田区", "蒲田", "蒲田 大森北 西蒲田 池上", "蒲田 大森 池上", "144", 52000, 4),
        ("江東区", "亀戸", "亀戸 大島 北砂 東陽", "亀戸 大島 東陽町", "136", 54000, 3),
        ("墨田区", "錦糸町", "押上 錦糸 太平 向島", "押上 錦糸町 曳舟", "130", 54000, 3),
        ("台東区", "浅草", "浅草 上野 蔵前 入谷", "浅草 上野 蔵前", "111", 56000, 3),
        ("文京区", "本郷", "本郷 千石 白山 小石川", "本郷三丁目 千石 白山", "113", 60000, 2),
        ("荒川区", "日暮里", "西日暮里 南千住 町屋 東尾久", "西日暮里 南千住 町屋", "116", 50000, 3),
        ("足立区", "北千住", "千住 綾瀬 梅島 西新井", "北千住 綾瀬 西新井", "120", 46000, 3),
        ("葛飾区", "亀有", "亀有 金町 新小岩 立石", "亀有 金町 新小岩", "125", 46000, 2),
        ("江戸川区", "西葛西", "西葛西 南小岩 船堀 中葛西", "西葛西 小岩 船堀", "134", 48000, 3),
        ("港区", "三田", "芝浦 三田 白金 高輪", "田町 三田 白金高輪", "108", 72000, 1),
        ("中央区", "月島", "月島 日本橋浜町 勝どき", "月島 浜町 勝どき", "104", 70000, 1),
        ("千代田区", "神田", "神田神保町 内神田 岩本町", "神保町 神田 岩本町", "101", 70000, 1),
    ))
    # Tokyo cities (Tama area): cheaper, student-heavy.
    + _areas(_TOKYO, (
        ("八王子市", "八王子", "旭町 横山町 明神町 子安町", "八王子 京王八王子", "192", 38000, 2),
        ("町田市", "町田", "原町田 森野 中町", "町田", "194", 40000, 2),
        ("武蔵野市", "吉祥寺", "吉祥寺本町 中町 境", "吉祥寺 三鷹 武蔵境", "180", 55000, 2),
        ("調布市", "調布", "布田 国領町 小島町", "調布 国領", "182", 48000, 1.5),
        ("府中市", "府中", "宮町 府中町 寿町", "府中", "183", 45000, 1),
    ))
    + _areas("神奈川県", (
        ("横浜市港北区", "日吉", "日吉 綱島西 大倉山 菊名", "日吉 綱島 大倉山 菊名", "223", 50000, 4),
        ("横浜市神奈川区", "横浜", "反町 六角橋 西神奈川", "反町 白楽 東神奈川", "221", 48000, 2),
        ("横浜市西区", "横浜西", "南幸 北幸 浅間町", "横浜", "220", 52000, 1),
        ("川崎市中原区", "武蔵小杉", "新丸子町 小杉町 木月", "武蔵小杉 新丸子 元住吉", "211", 52000, 3),
        ("川崎市川崎区", "川崎", "砂子 駅前本町 小川町", "川崎", "210", 48000, 1.5),
        ("相模原市中央区", "相模原", "相模原 中央 小山", "相模原 淵野辺", "252", 38000, 1),
        ("藤沢市", "藤沢", "藤沢 鵠沼石上 南藤沢", "藤沢", "251", 42000, 1),
    ))
    + _areas("埼玉県", (
        ("さいたま市大宮区", "大宮", "桜木町 大門町 宮町 吉敷町", "大宮", "330", 45000, 3),
        ("さいたま市浦和区", "浦和", "高砂 仲町 常盤", "浦和", "330", 46000, 1.5),
        ("川口市", "川口", "川口 栄町 本町 幸町", "川口 西川口", "332", 44000, 2.5),
        ("入間郡三芳町", "三芳", "藤久保 竹間沢", "鶴瀬 みずほ台", "354", 34000, 0.5),
        ("所沢市", "所沢", "日吉町 東町 宮本町", "所沢", "359", 40000, 1),
        ("戸田市", "戸田", "下戸田 本町 喜沢", "戸田公園 戸田", "335", 42000, 1),
    ))
    + _areas("千葉県", (
        ("千葉市中央区", "千葉", "富士見 新町 中央 登戸", "千葉 西千葉", "260", 40000, 2),
        ("船橋市", "船橋", "本町 湊町 宮本 西船", "船橋 西船橋", "273", 44000, 2),
        ("市川市", "市川", "市川 八幡 行徳駅前", "市川 本八幡 行徳", "272", 45000, 2),
        ("松戸市", "松戸", "松戸 根本 新松戸", "松戸 新松戸", "271", 40000, 1),
        ("印旛郡酒々井町", "酒々井", "中央台 上岩橋", "酒々井", "285", 30000, 0.3),
        ("柏市", "柏", "柏 旭町 末広町", "柏", "277", 40000, 1),
    ))
    + _areas("大阪府", (
        ("大阪市北区", "梅田", "梅田 天神橋 中崎 豊崎", "梅田 天神橋筋六丁目 中崎町", "530", 48000, 2),
        ("大阪市浪速区", "なんば", "難波中 元町 日本橋", "なんば 大国町", "556", 44000, 1.5),
        ("大阪市淀川区", "新大阪", "西中島 十三本町 宮原", "新大阪 西中島南方 十三", "532", 44000, 1),
        ("堺市堺区", "堺", "南瓦町 中瓦町 北瓦町", "堺東 堺", "590", 36000, 0.5),
        ("豊中市", "豊中", "本町 服部元町 岡町", "豊中 服部天神", "561", 38000, 0.5),
    ))
)
_AREA_PICK = tuple((a, a.weight) for a in _AREAS)

_KANJI_DIGITS = "〇一二三四五六七八九"
_FULLWIDTH = str.maketrans("0123456789-", "０１２３４５６７８９－")


@dataclass(frozen=True)
class Site:
    name: str
    address: str
    postal_code: str | None
    prefecture: str | None
    municipality: str | None
    nearest_station: str
    base_rent: int


def _brand(rng: Random, prefecture: str) -> str:
    if prefecture == "大阪府":
        return pick_weighted(rng, (("OSAKA β", 8), ("OSAKAβ", 2)))
    return pick_weighted(rng, (("TOKYO β", 8), ("TOKYOβ", 2), ("Tokyo β", 1), ("ＴＯＫＹＯ β", 0.3)))


def _address(rng: Random, area: _Area, town: str, name: str) -> str:
    chome, block, number = rng.randint(1, 5), rng.randint(1, 30), rng.randint(1, 25)
    style = rng.random()
    if style < 0.5:
        street = f"{town}{_KANJI_DIGITS[chome]}丁目{block}-{number}"
    elif style < 0.9:
        street = f"{town}{chome}-{block}-{number}"
    else:
        street = f"{town}{chome}丁目{block}番{number}号"
    if rng.random() < 0.07:
        street = street.translate(_FULLWIDTH)
    head = pick_weighted(rng, ((area.prefecture, 90), ("", 8), (area.prefecture + "　", 2)))
    address = f"{head}{area.municipality}{street}"
    tail = rng.random()
    if tail < 0.06:
        address += f"　{name}"
    elif tail < 0.1:
        address += f" {name}"
    elif tail < 0.12:
        address += f" {rng.randint(1, 3)}F"
    if rng.random() < 0.03:
        address = f"〒{area.postal_prefix}-{rng.randint(0, 9999):04d} {address}"
    if rng.random() < 0.01:
        address += " "
    return address


def make_site(rng: Random, name_counters: dict[str, int]) -> Site:
    """A new property; name_counters numbers sites per place name (新宿1, 新宿2, ...)."""
    area = pick_weighted(rng, _AREA_PICK)
    name_counters[area.label] = name_counters.get(area.label, 0) + 1
    name = f"{_brand(rng, area.prefecture)} {area.label}{name_counters[area.label]}"
    town = rng.choice(area.towns)
    return Site(
        name=name,
        address=_address(rng, area, town, name),
        postal_code=None if rng.random() < 0.1 else f"{area.postal_prefix}-{rng.randint(0, 9999):04d}",
        prefecture=None if rng.random() < 0.08 else area.prefecture,
        municipality=area.municipality if rng.random() < 0.22 else None,
        nearest_station=rng.choice(area.stations) + "駅",
        base_rent=area.base_rent,
    )
