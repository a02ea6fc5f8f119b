-- Load history and verdicts: what was loaded, from which dump and sha, how many rows, when,
-- by which run. Written by load_staging and check_manifest; read by freshness and backfill.
CREATE TABLE IF NOT EXISTS `${ops}`.`load_history` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `dump_date` DATE NOT NULL,
  `dump_key` VARCHAR(512) NOT NULL,
  `dump_sha256` CHAR(64) NOT NULL,
  `dump_bytes` BIGINT NOT NULL,
  `status` VARCHAR(16) NOT NULL COMMENT 'loaded | dry_run | failed | quarantined | restored',
  `row_counts` TEXT NULL COMMENT 'JSON object: table -> rows loaded',
  `stream_seconds` DOUBLE NULL,
  `swap_seconds` DOUBLE NULL,
  `total_seconds` DOUBLE NULL,
  `run_id` VARCHAR(250) NULL,
  `started_at` DATETIME(3) NOT NULL COMMENT 'UTC',
  `finished_at` DATETIME(3) NULL COMMENT 'UTC',
  `detail` TEXT NULL,
  PRIMARY KEY (`id`),
  KEY `ix_load_history_day` (`dump_date`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `${ops}`.`manifest_verdicts` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `dump_date` DATE NOT NULL,
  `status` VARCHAR(16) NOT NULL COMMENT 'LOADABLE | QUARANTINED | MISSING',
  `reasons` VARCHAR(512) NOT NULL DEFAULT '',
  `detail` TEXT NULL,
  `dump_key` VARCHAR(512) NULL,
  `dump_sha256` CHAR(64) NULL,
  `run_id` VARCHAR(250) NULL,
  `decided_at` DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (`id`),
  KEY `ix_manifest_verdicts_day` (`dump_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
