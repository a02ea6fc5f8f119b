"""A source whose contract tables are full of values that break naive dump writers and loaders:
quotes, backslashes, NUL, raw newlines, 4-byte emoji, half-width katakana, NULL vs '', zero
dates, id 0, max lengths. Shared by the loader's and the publisher's tests."""

from __future__ import annotations

HOSTILE_STRINGS = [
    "it's \"quoted\" `backticked`", "C:\\path\\to\\", "\\", "'", "''", "a\nb\r\nc\td", "nul\0byte", "ctrl-z\x1a",
    "');DROP DATABASE x;--", ";\nINSERT INTO `tenants` VALUES (1);\n", "/*!40101 SET NAMES latin1 */;",
    "絵文字🏠👨‍👩‍👧🇯🇵", "ﾍﾞﾄﾅﾑ ｶﾀｶﾅ", "", "   trailing spaces   ", "0x41", "NULL",
]


def build_hostile_source(admin_conn, database: str) -> None:
    from tokyobeta.sample.source import in_database, schema_statements

    with admin_conn.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS `{database}`")
        cur.execute(f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
        for statement in schema_statements()[:5]:
            cur.execute(in_database(statement, database))
        # A TIMESTAMP proves the session time zone; the source may add columns to the contract.
        cur.execute(f"ALTER TABLE `{database}`.tenants ADD COLUMN seen_at TIMESTAMP NULL DEFAULT NULL")
        cur.execute("SET SESSION sql_mode = 'NO_AUTO_VALUE_ON_ZERO', time_zone = '+09:00'")
        longest = "𠮷" * 191
        tenants = [(0, 6, longest, "ｶ" * 64, "ﾍﾞﾄﾅﾑ", 1, "0000-00-00", "ｶ" * 191, "0000-00-00 00:00:00",
                    "2026-03-01 23:59:59", "2026-03-02 00:30:00")]
        for i, text in enumerate(HOSTILE_STRINGS, start=1):
            tenants.append((i, i % 9 + 1, text or "x", text[:64] or None, None if i % 3 else "", 2,
                            "2026-00-00" if i % 4 == 0 else "1990-02-28", text[:191], "2026-03-01 10:00:00",
                            "2026-03-01 10:00:00", None))
        cur.executemany(f"INSERT INTO `{database}`.tenants (id, status, full_name, full_name_kana, nationality, gender, "
                        "birth_date, email, created_at, updated_at, seen_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        tenants)
        cur.executemany(f"INSERT INTO `{database}`.apartments (id, name, address, prefecture, municipality, created_at, "
                        "updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        [(0, "ゼロ", "東京都新宿区西新宿2-8-1", "東京都", None, "0000-00-00 00:00:00", "2026-03-01 00:00:00"),
                         *[(i, text or "n", text, "東京都", "" if i % 2 else None, "2026-03-01", "2026-03-01")
                           for i, text in enumerate(HOSTILE_STRINGS, start=1)]])
        cur.executemany(f"INSERT INTO `{database}`.rooms (id, apartment_id, room_number, rent, status, created_at, "
                        "updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s)",
                        [(i, i, (text or "r")[:32], -i if i % 2 else 2147483647, 1, "2026-03-01", "2026-03-01")
                         for i, text in enumerate(HOSTILE_STRINGS, start=1)])
        cur.executemany(f"INSERT INTO `{database}`.movings (id, tenant_id, apartment_id, room_id, moving_agreement_type, "
                        "contract_type, move_in_date, moveout_date, moveout_plans_date, cancel_flag, rent, created_at, "
                        "updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)",
                        [(0, 0, 0, 1, 1, None, "0000-00-00", None, "2026-04-00", 0, None, "2026-03-01", "2026-03-01"),
                         (1, 1, 1, 1, 2, 3, "2026-03-02", "2026-03-31", None, 1, 0, "2026-03-01", "2026-03-01")])
        cur.executemany(f"INSERT INTO `{database}`.inquiries (id, tenant_id, apartment_id, channel, message, inquired_at, "
                        "created_at, updated_at) VALUES (%s,%s,%s,%s,%s,%s,%s,%s)",
                        [(i, None, i, (text or "")[:32], text * 50, "2026-03-01 09:00:00", "2026-03-01", "2026-03-01")
                         for i, text in enumerate(HOSTILE_STRINGS, start=1)])
