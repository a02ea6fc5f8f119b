"""Synthetic tenant identities: names, nationality free text, contact data.

The point is realism for the enrichment and dbt layers: nationality is typed by staff in
whatever form the tenant's papers or the tenant said it, so one country arrives in many
spellings, scripts and widths, and sometimes not at all.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from random import Random
from typing import Sequence, TypeVar

T = TypeVar("T")

GENDER_UNKNOWN = 0
GENDER_MALE = 1
GENDER_FEMALE = 2


@dataclass(frozen=True)
class Person:
    full_name: str
    full_name_kana: str | None
    nationality: str | None
    gender: int
    birth_date: date | None
    email: str | None
    phone: str | None


def pick_weighted(rng: Random, options: Sequence[tuple[T, float]]) -> T:
    """One value from (value, weight) pairs; linear scan is fine for the short tables here."""
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, weight in options:
        x -= weight
        if x < 0:
            return value
    return options[-1][0]


# --- nationality -------------------------------------------------------------------------
# (country key, share of tenants, spellings with weights, name style). Shares follow the
# operator's mix: about half Japanese, then Vietnam, China, Korea, Nepal, Myanmar.
_COUNTRIES: tuple[tuple[str, float, tuple[tuple[str, float], ...], str], ...] = (
    ("JP", 45.0, (("日本", 40), ("Japan", 8), ("JPN", 4), ("日本国", 3), ("JAPAN", 3),
                  ("japan", 1), ("日本 ", 1), ("ＪＡＰＡＮ", 1), ("ﾆﾎﾝ", 0.5)), "ja"),
    ("VN", 14.0, (("ベトナム", 30), ("Vietnam", 15), ("VN", 6), ("VIETNAM", 8), ("ﾍﾞﾄﾅﾑ", 4),
                  ("ベトナム国", 3), ("越南", 2), ("Viet Nam", 3), ("ＶＩＥＴＮＡＭ", 2),
                  ("Vietnamese", 2), (" ベトナム", 1), ("vietnam ", 1)), "vi"),
    ("CN", 10.0, (("中国", 30), ("China", 12), ("CHN", 4), ("中華人民共和国", 4), ("CHINA", 4),
                  ("中国 ", 1), ("ﾁｭｳｺﾞｸ", 1), ("PRC", 1), ("Chinese", 1)), "zh"),
    ("KR", 6.0, (("韓国", 30), ("Korea", 8), ("South Korea", 6), ("ROK", 2), ("大韓民国", 4),
                 ("KOREA", 3), ("Republic of Korea", 2), ("韓国　", 1), ("ｶﾝｺｸ", 0.5)), "ko"),
    ("NP", 5.0, (("ネパール", 25), ("Nepal", 12), ("NEPAL", 5), ("ﾈﾊﾟｰﾙ", 2), ("Nepali", 1)), "ne"),
    ("MM", 4.0, (("ミャンマー", 25), ("Myanmar", 12), ("Burma", 3), ("MYANMAR", 4),
                 ("ﾐｬﾝﾏｰ", 1), ("ビルマ", 1)), "my"),
    ("PH", 2.5, (("フィリピン", 20), ("Philippines", 10), ("Phillipines", 3), ("PHILIPPINES", 3),
                 ("Filipino", 1)), "ph"),
    ("TW", 2.0, (("台湾", 20), ("Taiwan", 10), ("TAIWAN", 3), ("中華民国", 2), ("臺灣", 1)), "tw"),
    ("ID", 2.0, (("インドネシア", 20), ("Indonesia", 10), ("INDONESIA", 3)), "id"),
    ("US", 1.5, (("USA", 10), ("U.S.A.", 5), ("アメリカ", 12), ("米国", 5), ("United States", 5),
                 ("アメリカ合衆国", 3), ("US", 2)), "en"),
    ("GB", 0.8, (("UK", 8), ("イギリス", 10), ("英国", 5), ("United Kingdom", 4), ("England", 1)), "en"),
    ("FR", 0.6, (("France", 10), ("フランス", 10), ("FRANCE", 2)), "fr"),
    ("DE", 0.5, (("Germany", 10), ("ドイツ", 10), ("Deutschland", 1)), "de"),
    ("IN", 0.8, (("India", 10), ("インド", 10), ("INDIA", 2)), "in"),
    ("LK", 0.8, (("Sri Lanka", 10), ("スリランカ", 12), ("SRI LANKA", 2)), "lk"),
    ("MN", 0.7, (("Mongolia", 8), ("モンゴル", 12), ("ﾓﾝｺﾞﾙ", 1)), "mn"),
    ("TH", 0.6, (("Thailand", 8), ("タイ", 12), ("タイ王国", 1)), "th"),
    ("BR", 0.5, (("Brazil", 8), ("ブラジル", 12), ("Brasil", 2)), "br"),
    ("UZ", 0.4, (("ウズベキスタン", 10), ("Uzbekistan", 5)), "uz"),
    ("KG", 0.1, (("Kyrgyz Republic", 5), ("キルギス", 5)), "uz"),
    ("GE", 0.1, (("ｸﾞﾙｼﾞｱ", 5), ("ジョージア", 5), ("Georgia", 3)), "ge"),
    ("CI", 0.05, (("Côte d’Ivoire", 5), ("コートジボワール", 3), ("Ivory Coast", 2)), "fr"),
)
_COUNTRY_PICK = tuple((c, c[1]) for c in _COUNTRIES)

# Unknown nationality as it shows up in the field: missing, blank, or a placeholder.
_MISSING_NATIONALITY: tuple[tuple[str | None, float], ...] = (
    (None, 6), ("", 3), (" ", 1), ("　", 1), ("-", 0.5), ("不明", 0.5),
)
_MISSING_SHARE = 0.06


# --- names -------------------------------------------------------------------------------
# Japanese: (kanji, katakana, romaji). Variant kanji (齋藤, 髙橋, 渡邊) are real and frequent.
_JA_FAMILY = (
    ("佐藤", "サトウ", "sato"), ("鈴木", "スズキ", "suzuki"), ("高橋", "タカハシ", "takahashi"),
    ("田中", "タナカ", "tanaka"), ("伊藤", "イトウ", "ito"), ("渡辺", "ワタナベ", "watanabe"),
    ("山本", "ヤマモト", "yamamoto"), ("中村", "ナカムラ", "nakamura"), ("小林", "コバヤシ", "kobayashi"),
    ("加藤", "カトウ", "kato"), ("吉田", "ヨシダ", "yoshida"), ("山田", "ヤマダ", "yamada"),
    ("佐々木", "ササキ", "sasaki"), ("山口", "ヤマグチ", "yamaguchi"), ("松本", "マツモト", "matsumoto"),
    ("井上", "イノウエ", "inoue"), ("木村", "キムラ", "kimura"), ("林", "ハヤシ", "hayashi"),
    ("斎藤", "サイトウ", "saito"), ("清水", "シミズ", "shimizu"), ("山崎", "ヤマザキ", "yamazaki"),
    ("森", "モリ", "mori"), ("池田", "イケダ", "ikeda"), ("橋本", "ハシモト", "hashimoto"),
    ("阿部", "アベ", "abe"), ("石川", "イシカワ", "ishikawa"), ("前田", "マエダ", "maeda"),
    ("藤田", "フジタ", "fujita"), ("小川", "オガワ", "ogawa"), ("岡田", "オカダ", "okada"),
    ("後藤", "ゴトウ", "goto"), ("長谷川", "ハセガワ", "hasegawa"), ("村上", "ムラカミ", "murakami"),
    ("近藤", "コンドウ", "kondo"), ("石井", "イシイ", "ishii"), ("齋藤", "サイトウ", "saito"),
    ("髙橋", "タカハシ", "takahashi"), ("渡邊", "ワタナベ", "watanabe"),
)
_JA_GIVEN_MALE = (
    ("健太", "ケンタ", "kenta"), ("翔太", "ショウタ", "shota"), ("大輔", "ダイスケ", "daisuke"),
    ("拓也", "タクヤ", "takuya"), ("翔", "ショウ", "sho"), ("蓮", "レン", "ren"),
    ("大翔", "ヒロト", "hiroto"), ("悠真", "ユウマ", "yuma"), ("陽翔", "ハルト", "haruto"),
    ("直樹", "ナオキ", "naoki"), ("和也", "カズヤ", "kazuya"), ("亮", "リョウ", "ryo"),
    ("誠", "マコト", "makoto"), ("隆", "タカシ", "takashi"), ("浩二", "コウジ", "koji"),
)
_JA_GIVEN_FEMALE = (
    ("陽子", "ヨウコ", "yoko"), ("美咲", "ミサキ", "misaki"), ("結衣", "ユイ", "yui"),
    ("さくら", "サクラ", "sakura"), ("葵", "アオイ", "aoi"), ("陽菜", "ヒナ", "hina"),
    ("愛", "アイ", "ai"), ("彩", "アヤ", "aya"), ("真由美", "マユミ", "mayumi"),
    ("恵", "メグミ", "megumi"), ("奈々", "ナナ", "nana"), ("由美", "ユミ", "yumi"),
    ("花子", "ハナコ", "hanako"), ("美穂", "ミホ", "miho"), ("千尋", "チヒロ", "chihiro"),
)


@dataclass(frozen=True)
class _Style:
    """How names of one origin are built and written.

    parts: name slots in Latin order, each a pool of (latin, katakana, native-or-empty).
    native_share: share written in the native script (kanji, hangul) instead of Latin/kana.
    kana_share: share written in katakana (as on a Japanese residence card transcription).
    """

    parts: tuple[tuple[tuple[str, str, str], ...], ...]
    native_share: float = 0.0
    native_sep: str = " "
    kana_share: float = 0.25


def _pool(*items: str) -> tuple[tuple[str, str, str], ...]:
    """'LATIN/カナ' or 'LATIN/カナ/native' strings, for compact tables."""
    out = []
    for item in items:
        bits = item.split("/")
        out.append((bits[0], bits[1], bits[2] if len(bits) > 2 else ""))
    return tuple(out)


_VI_FAMILY = _pool("NGUYEN/グエン", "TRAN/チャン", "LE/レー", "PHAM/ファム", "HOANG/ホアン", "VU/ヴー",
                   "DANG/ダン", "BUI/ブイ", "DO/ドー", "NGO/ゴー")
_VI_MIDDLE = _pool("VAN/ヴァン", "THI/ティ", "DUC/ドゥック", "MINH/ミン", "NGOC/ゴック", "QUANG/クアン")
_VI_GIVEN = _pool("AN/アン", "ANH/アイン", "HUNG/フン", "LINH/リン", "NAM/ナム", "TRANG/チャン",
                  "HUONG/フオン", "TUAN/トゥアン", "DUNG/ズン", "HAI/ハイ", "THAO/タオ", "LAN/ラン")
_ZH_FAMILY = _pool("WANG/ワン/王", "LI/リー/李", "ZHANG/チャン/張", "LIU/リュウ/劉", "CHEN/チェン/陳",
                   "YANG/ヤン/楊", "ZHAO/チャオ/趙", "HUANG/ホアン/黄", "ZHOU/ジョウ/周", "WU/ウー/呉")
_ZH_GIVEN = _pool("WEI/ウェイ/偉", "FANG/ファン/芳", "JING/ジン/静", "LEI/レイ/磊", "YANG/ヤン/洋",
                  "MIN/ミン/敏", "JIE/ジエ/傑", "LI/リー/麗", "QIANG/チアン/強", "TING/ティン/婷",
                  "HAOYU/ハオユー/浩宇", "XIN/シン/欣")
_KO_FAMILY = _pool("KIM/キム/김", "LEE/イ/이", "PARK/パク/박", "CHOI/チェ/최", "JUNG/チョン/정",
                   "KANG/カン/강", "YOON/ユン/윤")
_KO_GIVEN = _pool("MINJUN/ミンジュン/민준", "SEOYEON/ソヨン/서연", "JIWOO/ジウ/지우",
                  "HYUNWOO/ヒョヌ/현우", "JIMIN/ジミン/지민", "SOYEON/ソヨン/소연", "DOHYUN/ドヒョン/도현")
_NE_GIVEN = _pool("RAM/ラム", "SITA/シタ", "BIKASH/ビカス", "ANISHA/アニシャ", "SANJAY/サンジャイ",
                  "PRAKASH/プラカシュ", "SUNITA/スニタ", "ROSHAN/ロシャン")
_NE_FAMILY = _pool("SHRESTHA/シュレスタ", "GURUNG/グルン", "TAMANG/タマン", "RAI/ライ", "THAPA/タパ",
                   "KC/ケーシー", "ADHIKARI/アディカリ", "MAGAR/マガル")
_MY_SYLLABLE = _pool("AUNG/アウン", "KYAW/チョー", "MYAT/ミャッ", "THU/トゥ", "ZAW/ゾー", "HTET/テッ",
                     "SU/スー", "MOE/モー", "NAY/ネー", "WIN/ウィン", "HNIN/ニン", "PHYU/ピュー")

_STYLES: dict[str, _Style] = {
    "vi": _Style((_VI_FAMILY, _VI_MIDDLE, _VI_GIVEN), kana_share=0.3),
    "zh": _Style((_ZH_FAMILY, _ZH_GIVEN), native_share=0.5, kana_share=0.1),
    "tw": _Style((_ZH_FAMILY, _ZH_GIVEN), native_share=0.6, kana_share=0.1),
    "ko": _Style((_KO_FAMILY, _KO_GIVEN), native_share=0.1, native_sep="", kana_share=0.35),
    "ne": _Style((_NE_GIVEN, _NE_FAMILY), kana_share=0.3),
    "my": _Style((_MY_SYLLABLE, _MY_SYLLABLE, _MY_SYLLABLE), kana_share=0.3),
    "ph": _Style((_pool("JOSE/ホセ", "MARIA/マリア", "MARK/マーク", "ANGELICA/アンジェリカ"),
                  _pool("SANTOS/サントス", "REYES/レイエス", "CRUZ/クルス", "BAUTISTA/バウティスタ"))),
    "id": _Style((_pool("BUDI/ブディ", "SITI/シティ", "AGUS/アグス", "DEWI/デウィ"),
                  _pool("SANTOSO/サントソ", "WIJAYA/ウィジャヤ", "PRATAMA/プラタマ", "LESTARI/レスタリ"))),
    "en": _Style((_pool("JOHN/ジョン", "EMILY/エミリー", "MICHAEL/マイケル", "SARAH/サラ", "DAVID/デイビッド"),
                  _pool("SMITH/スミス", "BROWN/ブラウン", "JOHNSON/ジョンソン", "O'BRIEN/オブライエン",
                        "WILLIAMS/ウィリアムズ")), kana_share=0.15),
    "fr": _Style((_pool("Lucas/リュカ", "Camille/カミーユ", "Léa/レア", "Hugo/ユーゴ", "Aya/アヤ"),
                  _pool("Martin/マルタン", "Dubois/デュボワ", "Lefèvre/ルフェーヴル", "Koné/コネ")),
                 kana_share=0.15),
    "de": _Style((_pool("Lukas/ルーカス", "Anna/アンナ", "Jonas/ヨナス", "Lena/レーナ"),
                  _pool("Müller/ミュラー", "Schmidt/シュミット", "Weber/ヴェーバー")), kana_share=0.15),
    "in": _Style((_pool("RAHUL/ラフル", "PRIYA/プリヤ", "ARJUN/アルジュン", "ANANYA/アナニャ"),
                  _pool("SHARMA/シャルマ", "PATEL/パテル", "SINGH/シン", "KUMAR/クマール"))),
    "lk": _Style((_pool("KASUN/カスン", "NIMALI/ニマリ", "CHAMARA/チャマラ", "DILANI/ディラニ"),
                  _pool("PERERA/ペレラ", "FERNANDO/フェルナンド", "SILVA/シルバ", "JAYASINGHE/ジャヤシンハ"))),
    "mn": _Style((_pool("BATBAYAR/バトバヤル", "ENKHJARGAL/エンフジャルガル", "GANBOLD/ガンボルド",
                        "ODGEREL/オドゲレル"),
                  _pool("BOLD/ボルド", "TSEND/ツェンド", "DORJ/ドルジ"))),
    "th": _Style((_pool("SOMCHAI/ソムチャイ", "NATTAYA/ナッタヤー", "KITTI/キッティ", "PLOY/プロイ"),
                  _pool("SUKSAWAT/スクサワット", "WONGSA/ウォンサ", "CHAIYA/チャイヤ"))),
    "br": _Style((_pool("GABRIEL/ガブリエル", "JULIANA/ジュリアナ", "LUCAS/ルーカス", "FERNANDA/フェルナンダ"),
                  _pool("SILVA/シルバ", "OLIVEIRA/オリベイラ", "SANTOS/サントス", "HIGA/ヒガ"))),
    "uz": _Style((_pool("AZIZ/アジズ", "DILNOZA/ディルノザ", "TIMUR/ティムール", "NODIRA/ノディラ"),
                  _pool("KARIMOV/カリモフ", "RAHIMOVA/ラヒモワ", "YUSUPOV/ユスポフ"))),
    "ge": _Style((_pool("GIORGI/ギオルギ", "NINO/ニノ", "DAVIT/ダヴィト"),
                  _pool("BERIDZE/ベリゼ", "KAPANADZE/カパナゼ", "GELASHVILI/ゲラシヴィリ"))),
}

_EMAIL_DOMAINS = (
    ("gmail.com", 45), ("yahoo.co.jp", 12), ("icloud.com", 10), ("outlook.com", 6),
    ("hotmail.com", 5), ("docomo.ne.jp", 5), ("ezweb.ne.jp", 3), ("softbank.ne.jp", 3),
    ("naver.com", 2), ("qq.com", 2), ("yahoo.com", 3), ("outlook.jp", 2),
)


def _ascii(text: str) -> str:
    """Email-safe romanization of a Latin name part (Léa -> lea, O'BRIEN -> obrien)."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _japanese_name(rng: Random, gender: int) -> tuple[str, str, list[str]]:
    family = rng.choice(_JA_FAMILY)
    if gender == GENDER_MALE or (gender == GENDER_UNKNOWN and rng.random() < 0.5):
        given = rng.choice(_JA_GIVEN_MALE)
    else:
        given = rng.choice(_JA_GIVEN_FEMALE)
    sep = pick_weighted(rng, ((" ", 65), ("　", 20), ("", 12), ("  ", 2)))
    full = f"{family[0]}{sep}{given[0]}"
    r = rng.random()
    if r < 0.02:
        full = f"{family[1]} {given[1]}"
    elif r < 0.03:
        full = f"{given[2].title()} {family[2].title()}"
    elif r < 0.04:
        full += " "
    return full, f"{family[1]} {given[1]}", [given[2], family[2]]


def _foreign_name(rng: Random, style: _Style) -> tuple[str, str, list[str]]:
    parts = [rng.choice(pool) for pool in style.parts]
    latin = [p[0] for p in parts]
    kana = "・".join(p[1] for p in parts)
    r = rng.random()
    if r < style.native_share and parts[0][2]:
        full = style.native_sep.join(p[2] for p in parts)
    elif r < style.native_share + style.kana_share:
        full = kana
    elif r < style.native_share + style.kana_share + 0.1:
        full = " ".join(x.title() for x in latin)
    else:
        full = " ".join(latin).upper()
    return full, kana, [latin[-1], latin[0]]


def _email(rng: Random, latin: list[str]) -> str | None:
    r = rng.random()
    if r < 0.05:
        return None
    first, last = (_ascii(x) for x in latin)
    local = pick_weighted(rng, ((f"{first}.{last}", 4), (f"{first}{last}", 3), (f"{last}.{first}", 1),
                                (f"{first}_{rng.randint(1, 99):02d}", 2), (f"{first}{rng.randint(1980, 2007)}", 2)))
    email = f"{local}@{pick_weighted(rng, _EMAIL_DOMAINS)}"
    if r < 0.06:
        return email.upper()
    if r < 0.065:
        return f" {email}"
    return email


def _phone(rng: Random) -> str | None:
    r = rng.random()
    if r < 0.08:
        return None
    prefix = rng.choice(("090", "080", "070"))
    a, b = rng.randint(1000, 9999), rng.randint(1000, 9999)
    if r < 0.7:
        return f"{prefix}-{a}-{b}"
    if r < 0.95:
        return f"{prefix}{a}{b}"
    return f"+81 {prefix[1:]}-{a}-{b}"


def _birth_date(rng: Random, today: date, student: bool) -> date | None:
    r = rng.random()
    if r < 0.07:
        return None
    if r < 0.072:
        return date(1900, 1, 1)  # placeholder the old admin screen required
    age_days = int(365.25 * (rng.uniform(18, 24) if student else 18 + rng.gammavariate(2.2, 4.5)))
    return today - timedelta(days=age_days + rng.randrange(365))


def make_person(rng: Random, today: date, student: bool = False) -> Person:
    """A tenant as typed into the admin screen on `today`."""
    country = pick_weighted(rng, _COUNTRY_PICK)
    _key, _share, spellings, style_key = country
    gender = pick_weighted(rng, ((GENDER_MALE, 50), (GENDER_FEMALE, 46), (GENDER_UNKNOWN, 4)))
    if style_key == "ja":
        full, kana, latin = _japanese_name(rng, gender)
    else:
        full, kana, latin = _foreign_name(rng, _STYLES[style_key])
    if rng.random() < _MISSING_SHARE:
        nationality = pick_weighted(rng, _MISSING_NATIONALITY)
    else:
        nationality = pick_weighted(rng, spellings)
    return Person(
        full_name=full,
        full_name_kana=None if rng.random() < 0.15 else kana,
        nationality=nationality,
        gender=gender,
        birth_date=_birth_date(rng, today, student),
        email=_email(rng, latin),
        phone=_phone(rng),
    )


def new_phone(rng: Random) -> str | None:
    """A changed phone number, for the small daily profile edits."""
    return _phone(rng)
