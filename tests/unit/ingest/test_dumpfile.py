from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from tokyobeta.contract import TABLE_NAMES
from tokyobeta.ingest import dumpfile
from tokyobeta.ingest.dumpfile import Kind

# The shape mariadb-dump writes: INSERT ... VALUES and one row per line.
MARIADB_STYLE = b"""/*M!999999\\- enable the sandbox mode */ 
-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

DROP TABLE IF EXISTS `payments`;
CREATE TABLE `payments` (
  `id` int(11) NOT NULL,
  `memo` text
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `payments` WRITE;
INSERT INTO `payments` VALUES
(1,'a;\\nINSERT INTO `tenants` VALUES (9);'),
(2,'UPDATE tenants SET x=1;');
UNLOCK TABLES;

DROP TABLE IF EXISTS `tenants`;
/*!40101 SET character_set_client = utf8mb4 */;
CREATE TABLE `tenants` (
  `id` int(11) NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

LOCK TABLES `tenants` WRITE;
/*!40000 ALTER TABLE `tenants` DISABLE KEYS */;
INSERT INTO `tenants` VALUES
(1,'a;b'),
(2,'x\\ny');
/*!40000 ALTER TABLE `tenants` ENABLE KEYS */;
UNLOCK TABLES;
INSERT INTO `tenants_archive` VALUES (1,'old');
DELIMITER ;;
/*!50003 CREATE*/ /*!50003 TRIGGER `t` BEFORE INSERT ON `tenants` FOR EACH ROW BEGIN
  SET NEW.id = NEW.id + 1;
END */;;
DELIMITER ;
UPDATE `tenants` SET status = 9;
-- Dump completed
"""

EXPECTED = [
    (Kind.SESSION, None, True), (Kind.SESSION, None, True),
    (Kind.DROP_TABLE, "payments", True), (Kind.CREATE_TABLE, "payments", False),
    (Kind.TABLE_FRAMING, "payments", True), (Kind.INSERT, "payments", False), (Kind.SESSION, None, True),
    (Kind.DROP_TABLE, "tenants", True), (Kind.SESSION, None, True), (Kind.CREATE_TABLE, "tenants", True),
    (Kind.TABLE_FRAMING, "tenants", True), (Kind.TABLE_FRAMING, "tenants", True), (Kind.INSERT, "tenants", True),
    (Kind.TABLE_FRAMING, "tenants", True), (Kind.SESSION, None, True),
    (Kind.INSERT, "tenants_archive", False),
    (Kind.SESSION, None, True), (Kind.DEFINITION, None, True), (Kind.SESSION, None, True),
    (Kind.OTHER, None, True),
]


def scan(data: bytes, chunk: int | None = None) -> tuple[list[dumpfile.Statement], dumpfile.Scanner]:
    chunks = [data] if chunk is None else [data[i:i + chunk] for i in range(0, len(data), chunk)]
    scanner = dumpfile.Scanner(chunks, TABLE_NAMES)
    return list(scanner), scanner


def read(data: bytes, gz: bool = False, chunk_bytes: int = dumpfile.CHUNK_BYTES) -> tuple[bytes, dumpfile.DumpReader]:
    reader = dumpfile.DumpReader(io.BytesIO(data), gzip=gz, chunk_bytes=chunk_bytes)
    return b"".join(reader), reader


def test_classifies_every_statement_and_skips_other_tables_unread():
    stmts, scanner = scan(MARIADB_STYLE)
    assert [(s.kind, s.table, s.text is not None) for s in stmts] == EXPECTED
    assert scanner.completed


def test_multi_line_insert_is_one_statement_with_semicolons_inside_strings():
    stmts, _ = scan(MARIADB_STYLE)
    insert = next(s for s in stmts if s.kind is Kind.INSERT and s.table == "tenants")
    assert insert.text == b"INSERT INTO `tenants` VALUES\n(1,'a;b'),\n(2,'x\\ny');"
    assert MARIADB_STYLE[insert.offset:].startswith(insert.text)


def test_delimiter_block_is_one_statement():
    stmts, _ = scan(MARIADB_STYLE)
    trigger = next(s for s in stmts if s.kind is Kind.DEFINITION)
    assert trigger.text.endswith(b"END */;;") and b"SET NEW.id" in trigger.text


@pytest.mark.parametrize("chunk", [1, 2, 3, 5, 17, 64, 511, 512, 513, 4096])
def test_chunk_boundaries_change_nothing(chunk):
    whole, _ = scan(MARIADB_STYLE)
    pieces, scanner = scan(MARIADB_STYLE, chunk)
    assert pieces == whole
    assert scanner.completed


def test_reader_hashes_and_counts_raw_bytes():
    text, reader = read(MARIADB_STYLE, chunk_bytes=100)
    assert text == MARIADB_STYLE
    assert reader.bytes_read == len(MARIADB_STYLE)
    assert reader.hexdigest() == hashlib.sha256(MARIADB_STYLE).hexdigest()


def test_gzip_hashes_compressed_bytes_and_reads_concatenated_members():
    packed = gzip.compress(MARIADB_STYLE[:300]) + gzip.compress(MARIADB_STYLE[300:])
    text, reader = read(packed, gz=True, chunk_bytes=64)
    assert text == MARIADB_STYLE
    assert reader.hexdigest() == hashlib.sha256(packed).hexdigest() and reader.bytes_read == len(packed)


def test_gzip_output_chunks_are_bounded():
    bomb = gzip.compress(b"-- " + b"x" * 5_000_000 + b"\n")
    reader = dumpfile.DumpReader(io.BytesIO(bomb), gzip=True, chunk_bytes=65536)
    assert max(len(c) for c in reader) <= 65536


def test_truncated_gzip_raises():
    packed = gzip.compress(MARIADB_STYLE)
    with pytest.raises(dumpfile.DumpFormatError, match="truncated"):
        read(packed[: len(packed) // 2], gz=True)


def test_corrupt_gzip_raises_corrupt():
    packed = bytearray(gzip.compress(MARIADB_STYLE * 20))
    packed[len(packed) // 2] ^= 0xFF
    with pytest.raises(dumpfile.CorruptDump):
        read(bytes(packed), gz=True)


def test_drain_finishes_size_and_hash_after_an_early_stop():
    data = MARIADB_STYLE * 50
    reader = dumpfile.DumpReader(io.BytesIO(data), chunk_bytes=128, depth=1)
    next(iter(reader))
    reader.drain()
    assert reader.bytes_read == len(data) and reader.hexdigest() == hashlib.sha256(data).hexdigest()


def test_truncated_mid_statement_raises():
    cut = MARIADB_STYLE[: MARIADB_STYLE.index(b"(2,'x")]
    with pytest.raises(dumpfile.DumpFormatError, match="truncated"):
        scan(cut)


def test_truncated_mid_skipped_statement_raises():
    cut = MARIADB_STYLE[: MARIADB_STYLE.index(b"(2,'UPDATE")]
    with pytest.raises(dumpfile.DumpFormatError, match="starts at byte"):
        scan(cut, 7)


def test_missing_trailer_is_not_completed():
    _, scanner = scan(MARIADB_STYLE[: MARIADB_STYLE.index(b"-- Dump completed")])
    assert not scanner.completed


def test_trailer_followed_by_more_is_not_completed():
    _, scanner = scan(MARIADB_STYLE + b"UNLOCK TABLES;\n")
    assert not scanner.completed


def test_prefix_is_not_the_table():
    stmts, _ = scan(MARIADB_STYLE)
    assert [s.table for s in stmts if s.kind is Kind.INSERT] == ["payments", "tenants", "tenants_archive"]


def test_long_comment_line_spanning_chunks():
    data = b"-- " + b"c" * 3000 + b"\nUNLOCK TABLES;\n-- Dump completed\n"
    stmts, scanner = scan(data, 100)
    assert [(s.kind, s.text) for s in stmts] == [(Kind.SESSION, b"UNLOCK TABLES;")]
    assert scanner.completed


def test_oversized_checked_statement_is_refused(monkeypatch):
    monkeypatch.setattr(dumpfile, "MAX_STATEMENT_BYTES", 1000)
    big = b"INSERT INTO `tenants` VALUES\n" + b"(1,'aaaaaaaaaa'),\n" * 100 + b"(2,'b');\n"
    with pytest.raises(dumpfile.StatementTooLarge, match="starts at byte 0"):
        scan(big, 64)
    # another table's rows are never held, whatever their size
    stmts, _ = scan(big.replace(b"`tenants`", b"`payments`"), 64)
    assert [(s.kind, s.table, s.text) for s in stmts] == [(Kind.INSERT, "payments", None)]


@pytest.mark.parametrize("text, kind", [
    (b"DROP DATABASE `x`;", Kind.OTHER),
    (b"/*!40000 DROP DATABASE IF EXISTS `x`*/;", Kind.OTHER),
    (b"DELETE FROM `rooms`;", Kind.OTHER),
    (b"ALTER TABLE `tenants` ADD COLUMN `x` int;", Kind.OTHER),
    (b"DROP TABLE `tenants`;", Kind.OTHER),
    (b"DROP TABLE IF EXISTS `payments`, `tenants`;", Kind.OTHER),
    (b"TRUNCATE TABLE `tenants`;", Kind.OTHER),
    (b"/*!40000 DELETE FROM `tenants` */;", Kind.OTHER),
    (b"/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;", Kind.SESSION),
    (b"SET @@GLOBAL.GTID_PURGED=/*!80000 '+'*/ 'a:1-5,\nb:1-9';", Kind.SESSION),
    (b"/*!40000 ALTER TABLE `tenants` DISABLE KEYS */;", Kind.TABLE_FRAMING),
    (b"LOCK TABLES `tenants` WRITE;", Kind.TABLE_FRAMING),
    (b"/*!50001 CREATE ALGORITHM=UNDEFINED */\n/*!50001 VIEW `v` AS select 1 from `tenants` */;", Kind.DEFINITION),
    (b"/*!50001 DROP VIEW IF EXISTS `v`*/;", Kind.DEFINITION),
    (b"/*!50001 CREATE TABLE `tenants` (\n  `id` int\n) */;", Kind.CREATE_TABLE),
    (b"REPLACE INTO `tenants` VALUES (1);", Kind.INSERT),
    (b"INSERT INTO `victim`.`tenants` VALUES (1);", Kind.OTHER),
    (b"CREATE TABLE `victim`.`t` (\n  `id` int\n);", Kind.OTHER),
    (b"USE `gghouse`;", Kind.SESSION),
])
def test_classify(text, kind):
    assert dumpfile.classify(text)[0] is kind


@pytest.mark.parametrize("text, setting", [
    (b"/*!40101 SET NAMES utf8mb4 */;", ("names", "utf8mb4")),
    (b"/*!40101 SET NAMES latin1 */;", ("names", "latin1")),
    (b"/*!40103 SET TIME_ZONE='+09:00' */;", ("time_zone", "+09:00")),
    (b"/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;", None),
])
def test_session_setting(text, setting):
    assert dumpfile.session_setting(text) == setting


# mysqldump --skip-extended-insert: one row per statement, millions of them in a log table.
def one_row_statements(rows: int, table: bytes = b"event_log", long_every: int = 0) -> bytes:
    lines = []
    for i in range(rows):
        text = b"x" * (300 if long_every and i % long_every == 0 else 3)
        lines.append(b"INSERT INTO `%s` VALUES (%d,'a;\\nINSERT INTO `tenants` VALUES (9);\\n','%s');\n"
                     % (table, i, text))
    return b"".join(lines)


RUN_DUMP = (b"-- MySQL dump 10.13\n/*!40101 SET NAMES utf8mb4 */;\n"
            b"CREATE TABLE `event_log` (\n  `id` int NOT NULL\n) ENGINE=InnoDB;\n"
            + one_row_statements(500)
            + b"CREATE TABLE `tenants` (\n  `id` int NOT NULL\n) ENGINE=InnoDB;\n"
            b"INSERT INTO `tenants` VALUES (1,'a;b');\nINSERT INTO `tenants` VALUES (2,'c');\n"
            + one_row_statements(3, b"payments") + b"UNLOCK TABLES;\n-- Dump completed\n")


@pytest.mark.parametrize("chunk", [None, 1, 7, 100, 513, 514, 4096])
def test_a_run_of_one_row_statements_is_skipped_as_one_whatever_the_chunking(chunk):
    stmts, scanner = scan(RUN_DUMP, chunk)
    assert scanner.completed
    assert [(s.kind, s.table, s.text is not None, s.count) for s in stmts] == [
        (Kind.SESSION, None, True, 1), (Kind.CREATE_TABLE, "event_log", False, 1), (Kind.INSERT, "event_log", False, 500),
        (Kind.CREATE_TABLE, "tenants", True, 1), (Kind.INSERT, "tenants", True, 1), (Kind.INSERT, "tenants", True, 1),
        (Kind.INSERT, "payments", False, 3), (Kind.SESSION, None, True, 1)]
    assert stmts[2].offset == RUN_DUMP.index(b"INSERT INTO `event_log`")
    tenants = [s for s in stmts if s.table == "tenants" and s.kind is Kind.INSERT]
    assert [RUN_DUMP[s.offset:s.offset + len(s.text)] == s.text for s in tenants] == [True, True]


@pytest.mark.parametrize("chunk", [None, 5, 600])
def test_a_run_stops_at_another_table_that_shares_its_name_as_a_prefix(chunk):
    qualified = b"INSERT INTO `event_log`.`tenants` VALUES (1);\n"
    doubled = b"INSERT INTO `event_log``x` VALUES (1);\n"
    data = (one_row_statements(20) + qualified + one_row_statements(20) + doubled + one_row_statements(2)
            + b"-- Dump completed\n")
    stmts, scanner = scan(data, chunk)
    assert [(s.kind, s.table, s.text is not None, s.count) for s in stmts] == [
        (Kind.INSERT, "event_log", False, 20), (Kind.OTHER, None, True, 1),  # read and refused by the loader
        (Kind.INSERT, "event_log", False, 20), (Kind.INSERT, "event_log`x", False, 1),
        (Kind.INSERT, "event_log", False, 2)]
    assert stmts[1].text == qualified.rstrip(b"\n")


@pytest.mark.parametrize("chunk", [None, 3, 64, 700])
def test_a_run_that_ends_the_dump(chunk):
    complete, _ = scan(one_row_statements(50) + b"INSERT INTO `event_log` VALUES (1);", chunk)
    assert [(s.kind, s.count) for s in complete] == [(Kind.INSERT, 51)]
    cut = one_row_statements(50) + b"INSERT INTO `event_log` VALUES (1,'a;b"
    with pytest.raises(dumpfile.DumpFormatError, match=f"starts at byte {len(one_row_statements(50))} .*truncated"):
        scan(cut, chunk)


@pytest.mark.parametrize("chunk", [None, 9, 100])
def test_long_statements_in_a_run_keep_memory_flat_and_are_judged_alike(chunk, monkeypatch):
    monkeypatch.setattr(dumpfile, "CHUNK_BYTES", 128)  # statements of 300+ bytes count as long
    data = one_row_statements(40, long_every=3)
    whole, _ = scan(data + b"-- Dump completed\n")
    assert [(s.kind, s.count) for s in whole] == [(Kind.INSERT, 40)]
    assert scan(data + b"-- Dump completed\n", chunk)[0] == whole
    long_last = data + b"INSERT INTO `event_log` VALUES (1,'" + b"y" * 2000
    with pytest.raises(dumpfile.DumpFormatError, match=f"starts at byte {len(data)} \\(.INSERT INTO `event_log` VALUES"):
        scan(long_last, chunk)
    stmts, _ = scan(long_last + b"');", chunk)
    assert [(s.kind, s.count) for s in stmts] == [(Kind.INSERT, 41)]
