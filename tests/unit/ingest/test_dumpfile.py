from __future__ import annotations

import gzip
import hashlib
import io

import pytest

from tokyobeta.ingest import dumpfile
from tokyobeta.ingest.dumpfile import Kind

MARIADB_STYLE = b"""/*M!999999\\- enable the sandbox mode */ 
-- MariaDB dump 10.19
/*!40101 SET NAMES utf8mb4 */;
/*!40103 SET TIME_ZONE='+00:00' */;

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
UPDATE `tenants` SET status = 9;
-- Dump completed
"""


def statements(data: bytes, gz: bool = False) -> tuple[list[dumpfile.Statement], dumpfile.StatementStream,
                                                        dumpfile.HashingReader]:
    reader = dumpfile.HashingReader(io.BytesIO(data))
    stream = dumpfile.StatementStream(dumpfile.iter_lines(dumpfile.iter_chunks(reader, gz)))
    return list(stream), stream, reader


def test_classifies_every_statement_of_a_mariadb_dump():
    stmts, stream, reader = statements(MARIADB_STYLE)
    kinds = [(s.kind, s.table) for s in stmts]
    assert kinds == [
        (Kind.FRAMING, None), (Kind.FRAMING, None),
        (Kind.FRAMING, "tenants"), (Kind.FRAMING, None), (Kind.CREATE_TABLE, "tenants"),
        (Kind.FRAMING, "tenants"), (Kind.FRAMING, "tenants"), (Kind.INSERT, "tenants"),
        (Kind.FRAMING, "tenants"), (Kind.FRAMING, None),
        (Kind.INSERT, "tenants_archive"), (Kind.OTHER, "tenants"),
    ]
    assert stream.completed
    assert reader.bytes_read == len(MARIADB_STYLE)
    assert reader.hexdigest() == hashlib.sha256(MARIADB_STYLE).hexdigest()


def test_multi_line_insert_is_one_statement_with_semicolons_inside_strings():
    stmts, _, _ = statements(MARIADB_STYLE)
    insert = next(s for s in stmts if s.kind is Kind.INSERT and s.table == "tenants")
    assert insert.text.count(b"\n") == 2 and insert.text.endswith(b"(2,'x\\ny');")


def test_gzip_hashes_compressed_bytes():
    packed = gzip.compress(MARIADB_STYLE)
    stmts, stream, reader = statements(packed, gz=True)
    assert len(stmts) == 12 and stream.completed
    assert reader.hexdigest() == hashlib.sha256(packed).hexdigest()


def test_truncated_mid_statement_raises():
    cut = MARIADB_STYLE[: MARIADB_STYLE.index(b"(2,'x")]
    with pytest.raises(dumpfile.DumpFormatError, match="truncated"):
        statements(cut)


def test_missing_trailer_is_not_completed():
    cut = MARIADB_STYLE[: MARIADB_STYLE.index(b"-- Dump completed")]
    _, stream, _ = statements(cut)
    assert not stream.completed


def test_truncated_gzip_raises():
    packed = gzip.compress(MARIADB_STYLE)
    with pytest.raises(dumpfile.DumpFormatError):
        statements(packed[: len(packed) // 2], gz=True)


def test_prefix_is_not_the_table():
    stmts, _, _ = statements(MARIADB_STYLE)
    assert [s.table for s in stmts if s.kind is Kind.INSERT] == ["tenants", "tenants_archive"]


def test_touches_contract_table_detects_injected_statement():
    stmts, _, _ = statements(b"DROP DATABASE x;\nDELETE FROM `rooms`;\n-- Dump completed\n")
    assert [dumpfile.touches_contract_table(s) for s in stmts] == [False, True]
