from __future__ import annotations

import pytest

from tokyobeta.ingest import inserts

TARGET = b"`staging`.`tenants__incoming`"


@pytest.mark.parametrize("text", [
    # mariadb-dump: VALUES, then one row per line
    b"INSERT INTO `tenants` VALUES\n(1,'a',NULL,-2.5e-3),\n(2,'',0x00ff,_binary 'x');",
    # mysqldump: one line
    b"INSERT INTO `tenants` VALUES (1,'a',NULL),(2,'b',3.25);",
    # --complete-insert column list
    b"INSERT INTO `tenants` (`id`, `full_name`) VALUES (1,'a'),(2,'b');",
    # hostile strings are data: quotes, backslashes, statement-looking text, escaped newlines
    b"INSERT INTO `tenants` VALUES (1,'it''s \\'quoted\\' \\\\'),(2,'\\');DROP DATABASE x;--'),(3,'a\\nb;\\r\\0\\Z');",
    b"INSERT INTO `tenants` VALUES (1,'\\\\'),(2,'`tenants`; UPDATE tenants SET id=0;');",
    b"INSERT INTO `tenants` VALUES (1,b'101',X'0A',null,'0000-00-00','2024-01-01 00:00:00');",
])
def test_literal_rows_are_accepted_and_only_the_table_is_rewritten(text):
    rewritten = inserts.rewrite(text, "tenants", TARGET)
    assert rewritten == b"INSERT INTO " + TARGET + text[len(b"INSERT INTO `tenants`"):]


@pytest.mark.parametrize("text, shown", [
    # a second statement on the line
    (b"INSERT INTO `tenants` VALUES (1,'a');DROP DATABASE x;", ";DROP DATABASE x;"),
    (b"INSERT INTO `tenants` VALUES\n(1,'a'),\n(2,'b');INSERT INTO `mysql`.`user` VALUES (1);",
     ";INSERT INTO `mysql`"),
    # a quote closed early, the rest outside the string
    (b"INSERT INTO `tenants` VALUES (1,'a\\\\');DROP DATABASE x;-- ');", ";DROP DATABASE x"),
    # reads or writes anything but literals
    (b"INSERT INTO `tenants` VALUES (1,(SELECT password FROM mysql.user LIMIT 1));", "(SELECT"),
    (b"INSERT INTO `tenants` VALUES (1,SLEEP(10));", "SLEEP"),
    (b"INSERT INTO `tenants` VALUES (1,@secret);", "@secret"),
    (b"INSERT INTO `tenants` VALUES (1,\"double quoted\");", '"double'),
    (b"INSERT INTO `tenants` VALUES (1,'a') ON DUPLICATE KEY UPDATE id = 2;", " ON DUPLICATE"),
    (b"INSERT INTO `tenants` SELECT * FROM `other`.`tenants`;", " SELECT"),
    (b"INSERT INTO `tenants` VALUES (1,'a') /* comment */;", " /* comment"),
    (b"INSERT INTO `tenants` VALUES (1,'unterminated);", "(1,'unterminated"),
])
def test_anything_but_literal_rows_is_rejected_naming_where(text, shown):
    with pytest.raises(inserts.InsertRejected) as err:
        inserts.rewrite(text, "tenants", TARGET)
    assert shown in str(err.value)


@pytest.mark.parametrize("text", [
    b"INSERT INTO `tenants_archive` VALUES (1);",
    b"INSERT INTO `tenants`.`x` VALUES (1);",
    b"REPLACE INTO `tenants` VALUES (1);",
    b"INSERT IGNORE INTO `tenants` VALUES (1);",
    b"insert into `tenants` values (1);",
])
def test_only_a_plain_insert_into_the_table_itself(text):
    with pytest.raises(inserts.InsertRejected):
        inserts.rewrite(text, "tenants", TARGET)


def test_large_statement_is_checked_quickly():
    rows = b",\n".join(b"(%d,'name \\'%d\\' ;',NULL,'2024-01-01')" % (i, i) for i in range(20000))
    text = b"INSERT INTO `tenants` VALUES\n" + rows + b";"
    assert inserts.rewrite(text, "tenants", TARGET).endswith(b"'2024-01-01');")
