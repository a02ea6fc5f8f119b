"""The bulky non-contract tables of the sample source.

In production the five contract tables are a small part of a ~1 GB dump; the rest is logs,
mail, payments and archives that the pipeline must skip without executing. These tables exist
to make dumps of the sample realistic in size and in shape: wide text rows, multi-line bodies
with quotes, backslashes, tabs, semicolons at line ends and even SQL-looking text, and a
`tenants_archive` table whose name starts with a contract table's name.

Rows are built lazily from pools of pre-generated text blocks, so hundreds of MB cost little
CPU, and are re-created identically on every iteration from (seed, as_of, budget).
"""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from random import Random
from typing import Callable, Iterator

from tokyobeta.sample.people import make_person, pick_weighted

# Default non-contract volume at scale 1, in MB of dump text: the contract tables of scale 1
# dump to ~16 MB of INSERT statements and the other tables are ~3x that by default.
# Production's ratio is far larger (~1 GB dump); pass other_mb to reproduce it.
DEFAULT_OTHER_MB_AT_SCALE_1 = 48.0

# Share of the non-contract byte budget per table.
_SHARES: tuple[tuple[str, float], ...] = (
    ("tenants_archive", 0.08),
    ("movings_history", 0.10),
    ("payments", 0.12),
    ("mail_queue", 0.15),
    ("access_logs", 0.20),
    ("event_log", 0.35),
)

OTHER_COLUMNS: dict[str, tuple[str, ...]] = {
    "tenants_archive": ("id", "status", "full_name", "full_name_kana", "nationality", "gender",
                        "birth_date", "email", "phone", "created_at", "updated_at", "archived_at",
                        "archive_reason", "notes"),
    "movings_history": ("id", "moving_id", "tenant_id", "action", "changed_by", "changed_at",
                        "before_json", "after_json"),
    "payments": ("id", "tenant_id", "moving_id", "amount", "method", "status", "due_date",
                 "paid_at", "memo", "gateway_response", "created_at", "updated_at"),
    "mail_queue": ("id", "tenant_id", "to_address", "subject", "body", "status", "attempts",
                   "sent_at", "created_at"),
    "access_logs": ("id", "tenant_id", "session_id", "ip", "method", "path", "status_code",
                    "response_ms", "user_agent", "referer", "request_headers", "created_at"),
    "event_log": ("id", "tenant_id", "room_id", "event_type", "actor", "ip", "created_at"),
}

_POOL_SIZE = 64


class LazyRows:
    """Re-iterable rows: each iteration rebuilds the same rows from scratch."""

    def __init__(self, factory: Callable[[], Iterator[tuple]]) -> None:
        self._factory = factory

    def __iter__(self) -> Iterator[tuple]:
        return self._factory()


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))


def _mean_len(pool: list[str]) -> float:
    return sum(_utf8_len(t) for t in pool) / len(pool)


def _hex(rng: Random, bits: int) -> str:
    return f"{rng.getrandbits(bits):0{bits // 4}x}"


def _timeline(start: datetime, end: datetime, count: int, rng: Random) -> Iterator[datetime]:
    """`count` non-decreasing timestamps spread over [start, end] (logs are append-only)."""
    span = (end - start).total_seconds()
    step = span / max(count, 1)
    for i in range(count):
        yield start + timedelta(seconds=int(step * i + rng.random() * step))


# --- text pools --------------------------------------------------------------------------

_MAIL_SUBJECTS = (
    "【TOKYO β】ご入居のご案内", "【TOKYO β】家賃お支払いのお願い", "【重要】退去手続きについて",
    "Your move-in guide for TOKYO β", "Rent reminder / 家賃のお知らせ", "【TOKYO β】内見予約確認",
    "Thông báo thanh toán tiền nhà", "【TOKYO β】契約更新のご案内", "Re: 鍵の受け渡しについて",
)
_MAIL_PARAGRAPHS = (
    "いつもTOKYO βをご利用いただき、誠にありがとうございます。",
    "ご入居日の14:00以降に、現地のキーボックスから鍵をお受け取りください。\n暗証番号は入居日前日にお送りします。",
    "家賃のお支払い期限は毎月27日です；期限を過ぎた場合は延滞金が発生します。",
    "お振込先：三菱UFJ銀行 新宿支店 普通 1234567 ｶ)ﾄｳｷｮｳﾍﾞｰﾀ",
    "Thank you for choosing TOKYO β. Please find your contract details below.\n\tRoom: {room}\n\tRent: ¥{rent}",
    "Please do not reply to this e-mail. If you have questions, contact support@tokyo-beta.example;",
    "退去の際は、退去日の30日前までにマイページからお手続きください。\nゴミの分別ルール：可燃ごみは月・木、資源ごみは水曜日です。",
    "Chúng tôi xin thông báo về việc thanh toán tiền thuê nhà tháng này.",
    "Windows path for the attachment: C:\\Users\\staff\\契約書\\2024\\{room}.pdf",
    "He said \"it's fine\" — but the key wasn't returned; 'please check'.",
    "INSERT INTO `tenants` VALUES (1,'not a real row');",
    "-- この行はSQLのコメントではありません --",
    "/*!40101 SET NAMES utf8mb4 */;",
    "共用部の清掃は毎週火曜日に行います 🧹🏠 ご協力をお願いいたします。",
    "インターネット：SSID tokyobeta-{room} / パスワードは共用部に掲示しています。\r\nWi-Fiの不具合はLINEでご連絡ください。",
    "ご不明な点がございましたら、お気軽にお問い合わせください。\n\nTOKYO β 運営事務局\nTEL 03-1234-5678（平日10:00-19:00）",
)


def _mail_pool(rng: Random) -> list[str]:
    pool = []
    for _ in range(_POOL_SIZE):
        parts = ["{name} 様"] + [rng.choice(_MAIL_PARAGRAPHS) for _ in range(rng.randint(8, 30))]
        body = "\n\n".join(parts).replace("{room}", str(rng.randint(101, 830))).replace(
            "{rent}", f"{rng.randint(35, 90)},000")
        name = make_person(rng, date(2024, 1, 1)).full_name
        pool.append(body.replace("{name}", name) + f"\n\n-- ref {_hex(rng, 64)}")
    return pool


_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.6261.105 Mobile Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/123.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/121.0.0.0 Mobile Safari/537.36 Line/13.21.0",
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl/8.4.0",
)
_REFERERS = (None, None, "https://www.google.com/", "https://suumo.jp/", "https://www.tokyo-beta.example/rooms",
             "https://line.me/", "https://www.instagram.com/", "https://www.tokyo-beta.example/mypage")
_PATHS = ("/rooms/{n}", "/mypage/contracts/{n}", "/api/v1/rooms?apartment_id={n}&lang=ja",
          "/inquiry/new?room={n}", "/mypage/payments", "/en/rooms/{n}?utm_source=google&utm_medium=cpc",
          "/login", "/api/v1/notifications?since={n}")


def _header_pool(rng: Random) -> list[str]:
    pool = []
    for _ in range(_POOL_SIZE):
        lines = [
            "Host: www.tokyo-beta.example",
            "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
            f"Accept-Language: {rng.choice(('ja,en-US;q=0.9', 'vi-VN,vi;q=0.9,ja;q=0.8', 'zh-CN,zh;q=0.9', 'en-US,en;q=0.5'))}",
            f"Cookie: _ga=GA1.2.{rng.getrandbits(31)}.{rng.getrandbits(31)}; session={_hex(rng, 256)}; _fbp=fb.1.{rng.getrandbits(40)}",
            f"X-Request-Id: {_hex(rng, 128)}",
            "X-Forwarded-Proto: https",
            f"X-Amzn-Trace-Id: Root=1-{_hex(rng, 32)}-{_hex(rng, 96)}",
        ]
        lines += [f"X-Debug-{i}:\t{_hex(rng, 128)}" for i in range(rng.randint(2, 16))]
        pool.append("\n".join(lines))
    return pool


def _json_pool(rng: Random, kind: str) -> list[str]:
    pool = []
    for _ in range(_POOL_SIZE):
        doc = {
            "kind": kind,
            "trace": _hex(rng, 128),
            "fields": {f"field_{i}": rng.choice(("", None, "退去予定", "入居中", rng.randint(0, 99999),
                                                  "memo: \"鍵\\返却\" 済み"))
                       for i in range(rng.randint(6, 24))},
            "ua": rng.choice(_USER_AGENTS),
        }
        pool.append(json.dumps(doc, ensure_ascii=rng.random() < 0.5))
    return pool


_ARCHIVE_NOTES = (
    "退去精算済み。敷金返金 {n} 円。", "Moved out. Key returned; no damage.", "連絡先不通のため督促停止。",
    "保証会社へ代位弁済請求済み\n再契約不可", "Room cleaning fee deducted (¥{n}).",
    "旧システムから移行 (legacy_id={n})", "",
)


def _archive_note_pool(rng: Random) -> list[str]:
    return ["\n".join(rng.choice(_ARCHIVE_NOTES).replace("{n}", str(rng.randint(1000, 99999)))
                      for _ in range(rng.randint(1, 40))) for _ in range(_POOL_SIZE)]


# --- row factories -----------------------------------------------------------------------

def _rows_to_build(budget: int, per_row: float) -> int:
    return max(0, round(budget / per_row))


# Archived tenants registered at least this long before the epoch: a stay of up to 900 days
# plus up to 400 days until the archiving job ran keeps every archived row before it.
_ARCHIVE_CUTOFF_DAYS = 1300


def _tenants_archive(seed: int, budget: int, start: date, epoch: date) -> Iterator[tuple]:
    """Former tenants the yearly archiving job moved out of `tenants`."""
    rng = Random(f"gghouse:{seed}:tenants_archive")
    notes = _archive_note_pool(rng)
    count = _rows_to_build(budget, 220 + _mean_len(notes))
    end = epoch - timedelta(days=_ARCHIVE_CUTOFF_DAYS)
    created = _timeline(datetime(start.year, start.month, start.day), datetime(end.year, end.month, end.day), count, rng)
    for i, created_at in enumerate(created, 1):
        person = make_person(rng, created_at.date())
        left = created_at + timedelta(days=rng.randint(30, 900), seconds=rng.randrange(86400))
        archived = left + timedelta(days=rng.randint(30, 400))
        yield (i, 9, person.full_name, person.full_name_kana, person.nationality, person.gender,
               person.birth_date, person.email, person.phone, created_at, left, archived,
               rng.choice(("moved_out", "moved_out", "contract_ended", "duplicate", "gdpr_request")),
               notes[rng.randrange(_POOL_SIZE)])


def _movings_history(seed: int, budget: int, start: datetime, end: datetime, tenant_count: int,
                     moving_count: int) -> Iterator[tuple]:
    rng = Random(f"gghouse:{seed}:movings_history")
    before, after = _json_pool(rng, "before"), _json_pool(rng, "after")
    count = _rows_to_build(budget, 90 + _mean_len(before) + _mean_len(after))
    staff = ("system", "batch", "tanaka", "suzuki", "nguyen.t", "admin", "li.wei")
    actions = ("update", "update", "update", "status_change", "create", "cancel", "moveout")
    for i, changed_at in enumerate(_timeline(start, end, count, rng), 1):
        yield (i, rng.randint(1, max(moving_count, 1)), rng.randint(1, max(tenant_count, 1)),
               rng.choice(actions), rng.choice(staff),
               changed_at, before[rng.randrange(_POOL_SIZE)], after[rng.randrange(_POOL_SIZE)])


def _payments(seed: int, budget: int, start: datetime, end: datetime, tenant_count: int,
              moving_count: int) -> Iterator[tuple]:
    rng = Random(f"gghouse:{seed}:payments")
    responses = _json_pool(rng, "gateway")
    count = _rows_to_build(budget, 170 + _mean_len(responses))
    methods = (("bank_transfer", 50), ("credit_card", 35), ("konbini", 10), ("cash", 5))
    memos = (None, None, "初月日割り", "家賃", "rent", "更新料", "退去精算", "振込名義相違 ﾀﾅｶ ﾀﾛｳ", "late fee; 延滞")
    for i, created_at in enumerate(_timeline(start, end, count, rng), 1):
        status = pick_weighted(rng, ((2, 90), (1, 6), (3, 4)))  # 1 pending, 2 paid, 3 failed
        paid_at = created_at + timedelta(seconds=rng.randrange(86400 * 3)) if status == 2 else None
        yield (i, rng.randint(1, max(tenant_count, 1)), rng.randint(1, max(moving_count, 1)),
               rng.randrange(30, 120) * 1000, pick_weighted(rng, methods), status,
               created_at.date() + timedelta(days=rng.randint(0, 30)), paid_at, rng.choice(memos),
               responses[rng.randrange(_POOL_SIZE)], created_at, paid_at or created_at)


def _mail_queue(seed: int, budget: int, start: datetime, end: datetime, tenant_count: int) -> Iterator[tuple]:
    rng = Random(f"gghouse:{seed}:mail_queue")
    bodies = _mail_pool(rng)
    count = _rows_to_build(budget, 120 + _mean_len(bodies))
    for i, created_at in enumerate(_timeline(start, end, count, rng), 1):
        status = pick_weighted(rng, ((2, 92), (3, 5), (1, 3)))  # 1 queued, 2 sent, 3 bounced
        sent_at = created_at + timedelta(seconds=rng.randrange(5, 600)) if status != 1 else None
        yield (i, rng.randint(1, max(tenant_count, 1)), f"user{rng.getrandbits(24)}@example.com",
               rng.choice(_MAIL_SUBJECTS), bodies[rng.randrange(_POOL_SIZE)], status,
               1 if status == 2 else rng.randint(1, 5), sent_at, created_at)


def _access_logs(seed: int, budget: int, start: datetime, end: datetime, tenant_count: int) -> Iterator[tuple]:
    rng = Random(f"gghouse:{seed}:access_logs")
    headers = _header_pool(rng)
    count = _rows_to_build(budget, 330 + _mean_len(headers))
    for i, created_at in enumerate(_timeline(start, end, count, rng), 1):
        ip = rng.getrandbits(32)
        yield (i, rng.randint(1, max(tenant_count, 1)) if rng.random() < 0.4 else None, _hex(rng, 128),
               f"{ip >> 24}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}",
               "GET" if rng.random() < 0.85 else "POST",
               rng.choice(_PATHS).replace("{n}", str(rng.randint(1, 20000))),
               pick_weighted(rng, ((200, 90), (302, 4), (304, 3), (404, 2), (500, 1))),
               int(rng.expovariate(1 / 120)), rng.choice(_USER_AGENTS), rng.choice(_REFERERS),
               headers[rng.randrange(_POOL_SIZE)], created_at)


_EVENT_TYPES = (("room.viewed", 40), ("login", 20), ("document.downloaded", 10), ("payment.reminded", 8),
                ("contract.updated", 6), ("message.sent", 10), ("key.issued", 2), ("profile.updated", 4))
_ACTORS = ("tenant", "tenant", "tenant", "system", "batch", "staff:tanaka", "staff:nguyen")


def _event_log(seed: int, budget: int, start: datetime, end: datetime, tenant_count: int,
               room_count: int) -> Iterator[tuple]:
    rng = Random(f"gghouse:{seed}:event_log")
    count = _rows_to_build(budget, 82)
    for i, created_at in enumerate(_timeline(start, end, count, rng), 1):
        ip = rng.getrandbits(32)
        yield (i, rng.randint(1, max(tenant_count, 1)) if rng.random() < 0.9 else None,
               rng.randint(1, max(room_count, 1)) if rng.random() < 0.5 else None,
               pick_weighted(rng, _EVENT_TYPES), rng.choice(_ACTORS),
               f"{ip >> 24}.{ip >> 16 & 255}.{ip >> 8 & 255}.{ip & 255}" if rng.random() < 0.8 else None,
               created_at)


def other_tables(*, as_of: date, seed: int, other_bytes: int, tenant_count: int, moving_count: int, room_count: int,
                 history_start: date, epoch: date) -> dict[str, tuple[tuple[str, ...], LazyRows]]:
    """Columns and lazy rows of every non-contract table, sized to about `other_bytes`."""
    budget = {name: int(other_bytes * share) for name, share in _SHARES}
    start = datetime(epoch.year, epoch.month, epoch.day)
    end = datetime(as_of.year, as_of.month, as_of.day, 23, 59, 59)
    factories: dict[str, Callable[[], Iterator[tuple]]] = {
        "tenants_archive": lambda: _tenants_archive(seed, budget["tenants_archive"], history_start, epoch),
        "movings_history": lambda: _movings_history(seed, budget["movings_history"], start, end,
                                                    tenant_count, moving_count),
        "payments": lambda: _payments(seed, budget["payments"], start, end, tenant_count, moving_count),
        "mail_queue": lambda: _mail_queue(seed, budget["mail_queue"], start, end, tenant_count),
        "access_logs": lambda: _access_logs(seed, budget["access_logs"], start, end, tenant_count),
        "event_log": lambda: _event_log(seed, budget["event_log"], start, end, tenant_count, room_count),
    }
    return {name: (OTHER_COLUMNS[name], LazyRows(factories[name])) for name, _ in _SHARES}
