"""The dump writer's literals and INSERT lines, without a server: what it writes must be read
back by MySQL's lexer as the same bytes, and pass the loader's own INSERT check
(ingest/inserts.py) so a publisher's dump never quarantines itself."""

from __future__ import annotations

import random
import re
from datetime import date, datetime, timezone

import pytest

from tokyobeta.ingest import inserts
from tokyobeta.ingest import manifest as manifest_mod
from tokyobeta.ops import sqldump
from tokyobeta.ops.sqldump import BINARY, NUMERIC, TEXT
from MySQLdb import _mysql

# What the server's lexer does with a backslash escape inside '...' (NO_BACKSLASH_ESCAPES off).
_UNESCAPE = {b"0": b"\x00", b"n": b"\n", b"r": b"\r", b"Z": b"\x1a", b"\\": b"\\", b"'": b"'", b'"': b'"',
             b"t": b"\t", b"b": b"\b"}


def unescape(body: bytes) -> bytes:
    return re.sub(rb"\\(.)", lambda m: _UNESCAPE.get(m.group(1), m.group(1)), body, flags=re.DOTALL)


EDGE_STRINGS = [
    "", "plain", "it's", "''", "\"double\"", "back\\slash", "\\", "trailing\\", "nul\0byte", "new\nline",
    "cr\r\nlf", "tab\tstays", "ctrl-z\x1a", "');DROP DATABASE x;--", "絵文字🏠👨‍👩‍👧🇯🇵", "ﾍﾞﾄﾅﾑ", "𠮷" * 10,
    "/*!40101 SET NAMES latin1 */;", "NULL", "0x41",
]


def literal(value: bytes | None, kind: int) -> bytes:
    return sqldump.column_literals([value], kind)[0]


def reference_literal(value: bytes | None, kind: int) -> bytes:
    """The publisher's literals as they were first written, one value at a time: the faster
    column-wise formatting must give the same bytes (the same data, the same sha256)."""
    if value is None:
        return b"NULL"
    if kind == NUMERIC:
        return value
    if kind == BINARY:
        return b"0x" + value.hex().encode() if value else b"''"
    return b"'" + _mysql.escape_string(value) + b"'"


@pytest.mark.parametrize("text", EDGE_STRINGS)
def test_string_literals_read_back_as_the_same_bytes(text):
    raw = text.encode("utf-8")
    lit = literal(raw, TEXT)
    assert lit.startswith(b"'") and lit.endswith(b"'")
    body = lit[1:-1]
    # no raw newline ever (the loader cuts statements at line ends) and no unescaped quote
    assert b"\n" not in body and b"\r" not in body and b"\x00" not in body
    assert re.search(rb"(?<!\\)(?:\\\\)*'", body) is None
    assert unescape(body) == raw


def test_null_numbers_and_binary():
    assert literal(None, TEXT) == b"NULL" and literal(None, BINARY) == b"NULL"
    assert literal(b"NULL", TEXT) == b"'NULL'"  # the string, not the value
    assert literal(b"-12.50", NUMERIC) == b"-12.50"
    assert literal(b"1e300", NUMERIC) == b"1e300"
    assert literal(b"\x00\xff'\\\n", BINARY) == b"0x00ff275c0a"
    assert literal(b"", BINARY) == b"''"  # 0x alone is not a literal
    assert literal(b"0000-00-00 00:00:00", TEXT) == b"'0000-00-00 00:00:00'"  # zero dates verbatim


@pytest.mark.parametrize("data_type, kind", [
    ("int", NUMERIC), ("BIGINT", NUMERIC), ("decimal", NUMERIC), ("double", NUMERIC), ("float", NUMERIC),
    ("varchar", TEXT), ("text", TEXT), ("datetime", TEXT), ("date", TEXT), ("timestamp", TEXT), ("enum", TEXT),
    ("set", TEXT), ("json", TEXT), ("year", TEXT), ("time", TEXT),
    ("blob", BINARY), ("varbinary", BINARY), ("binary", BINARY), ("longblob", BINARY), ("bit", BINARY),
    ("geometry", BINARY),
])
def test_column_kinds(data_type, kind):
    assert sqldump.kind_of(data_type) == kind


def test_insert_lines_are_bounded_count_every_row_and_pass_the_loaders_check():
    rows = [(str(i).encode(), s.encode(), None if i % 3 == 0 else bytes([i % 256]) * 7)
            for i, s in enumerate(EDGE_STRINGS * 40)]
    kinds = [NUMERIC, TEXT, BINARY]
    lines = list(sqldump.insert_lines("tenants", None, [rows], kinds, line_bytes=2_000))
    assert len(lines) > 3 and sum(n for _, n in lines) == len(rows)
    for line, _ in lines:
        assert line.endswith(b");\n") and line.count(b"\n") == 1
        assert len(line) <= 2_000 + 200  # one row may overshoot the bound, never by more than a row
        inserts.rewrite(line[:-1], "tenants", b"`staging`.`tenants__incoming`")  # raises if not plain literals
    # every row is in there once, in order
    joined = b"".join(line for line, _ in lines)
    assert joined.count(b"INSERT INTO `tenants` VALUES (") == len(lines)


def test_a_row_larger_than_the_bound_gets_a_line_of_its_own():
    rows = [(b"1", b"x" * 5_000), (b"2", b"y"), (b"3", b"z")]
    lines = list(sqldump.insert_lines("t", None, [rows], [NUMERIC, TEXT], line_bytes=1_000))
    assert [n for _, n in lines] == [1, 2]


def test_column_list_for_tables_with_generated_columns_and_quoted_identifiers():
    (line, n), = sqldump.insert_lines("we`ird", ["a", "b`c"], [[(b"1", b"x")]], [NUMERIC, TEXT])
    assert line == b"INSERT INTO `we``ird` (`a`,`b``c`) VALUES (1,'x');\n" and n == 1


@pytest.mark.parametrize("nulls", [False, True])
def test_columns_format_as_the_reference_one_value_at_a_time(nulls):
    rng = random.Random(7)
    alphabet = [bytes([b]) for b in range(256)] + [s.encode() for s in EDGE_STRINGS]
    kinds = [NUMERIC, TEXT, BINARY, TEXT]
    rows = [tuple(None if nulls and rng.random() < 0.2 else b"".join(rng.choices(alphabet, k=rng.randrange(6)))
                  for _ in kinds) for _ in range(500)]
    for kind, values in zip(kinds, zip(*rows)):
        assert list(sqldump.column_literals(values, kind)) == [reference_literal(v, kind) for v in values]
    texts = [b"(" + b",".join(reference_literal(v, k) for v, k in zip(row, kinds)) + b")" for row in rows]
    # where the lines break, as first written: a line closes before the row that would take it
    # (its rows and a comma after each) past the bound
    breaks, pending, size = [], 0, 0
    for text in texts:
        if pending and size + len(text) + 1 > 3_000:
            breaks.append(pending)
            pending, size = 0, 0
        pending, size = pending + 1, size + len(text) + 1
    breaks.append(pending)
    # however the rows arrive in batches, the lines are the same
    for batch in (1, 7, 500):
        lines = list(sqldump.insert_lines("t", None, [rows[i:i + batch] for i in range(0, len(rows), batch)], kinds,
                                          line_bytes=3_000))
        assert [n for _, n in lines] == breaks
        assert b",".join(line[len(b"INSERT INTO `t` VALUES "):-2] for line, _ in lines) == b",".join(texts)


def test_invalid_manifest_with_detail_parses_and_quarantines():
    now = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    m = manifest_mod.Manifest(
        dump_date=date(2026, 3, 2), dump_key="dumps/gghouse_20260302.sql", dump_bytes=0,
        dump_sha256="e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        source=manifest_mod.Source("", "", "s"), source_valid=False, valid_for_etl=False,
        reason_codes=("PUBLISH_FAILED",), table_row_counts={t: 0 for t in ("tenants", "movings", "rooms",
                                                                            "apartments", "inquiries")},
        dump_started_at=now, dump_finished_at=now, published_at=now, detail="OperationalError: gone away")
    parsed = manifest_mod.parse(m.to_json())
    assert parsed == m and parsed.detail == "OperationalError: gone away"
    verdict = manifest_mod.judge(parsed, manifest_mod.ExpectedSource("h", "d"), None)
    assert not verdict.loadable and verdict.reasons == ("PUBLISH_FAILED",) and "gone away" in verdict.detail
    # a manifest without detail is exactly contract v1 (no new key)
    import dataclasses
    assert "detail" not in dataclasses.replace(m, detail="").to_json()
    with pytest.raises(manifest_mod.ManifestError, match="detail"):
        manifest_mod.parse(m.to_json().replace('"detail": "OperationalError: gone away"', '"detail": 3'))
