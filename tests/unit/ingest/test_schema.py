from tokyobeta.ingest import schema

CREATE = """CREATE TABLE `rooms` (
  `id` int(10) unsigned NOT NULL AUTO_INCREMENT,
  `apartment_id` int(10) unsigned NOT NULL,
  `room_number` varchar(16) NOT NULL,
  `rent` int(11) NOT NULL,
  `status` tinyint(4) NOT NULL,
  `floor` tinyint(4) DEFAULT NULL,
  `created_at` datetime NOT NULL,
  `updated_at` datetime NOT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_rooms_apartment` (`apartment_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;"""


def test_conforming_table_with_extra_column():
    assert schema.drift("rooms", CREATE) == []
    assert schema.columns(CREATE)["floor"] == "tinyint"


def test_missing_column_is_drift():
    assert schema.drift("rooms", CREATE.replace("  `rent` int(11) NOT NULL,\n", "")) == ["rooms.rent is missing"]


def test_retyped_column_is_drift():
    problems = schema.drift("rooms", CREATE.replace("`created_at` datetime", "`created_at` varchar(32)"))
    assert problems == ["rooms.created_at is varchar, the contract expects a datetime type"]
