-- Which dump the staging tables hold. Swapped in with them by the same RENAME TABLE, so the
-- data and its provenance can never disagree (silver's snapshot_date reads it).
DROP TABLE IF EXISTS `${staging}`.`dump_info__incoming`;
CREATE TABLE `${staging}`.`dump_info__incoming` (
  `dump_date` DATE NOT NULL,
  `dump_key` VARCHAR(512) NOT NULL,
  `dump_sha256` CHAR(64) NOT NULL,
  `dump_bytes` BIGINT NOT NULL,
  PRIMARY KEY (`dump_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
INSERT INTO `${staging}`.`dump_info__incoming` (`dump_date`, `dump_key`, `dump_sha256`, `dump_bytes`)
VALUES (%(dump_date)s, %(dump_key)s, %(dump_sha256)s, %(dump_bytes)s);
