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

-- The publication log: one row per layer (silver, gold) per run that built it into its
-- candidate schema. Written by the publish step (write-audit-publish), read by lineage.
-- status: candidate (built, audit running) | published | held (audit failed; the candidate
-- stays inspectable in <layer>_candidate until the next build of that layer).
CREATE TABLE IF NOT EXISTS `${ops}`.`publications` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `layer` VARCHAR(16) NOT NULL COMMENT 'silver | gold',
  `dump_date` DATE NOT NULL,
  `status` VARCHAR(16) NOT NULL COMMENT 'candidate | published | held',
  `dump_key` VARCHAR(512) NULL,
  `dump_version_id` VARCHAR(1024) NULL,
  `dump_sha256` CHAR(64) NULL,
  `manifest_key` VARCHAR(512) NULL,
  `load_history_id` BIGINT UNSIGNED NULL COMMENT 'ops.load_history.id of the staging load it was built from',
  `run_id` VARCHAR(250) NULL,
  `dbt_invocation_ids` TEXT NULL COMMENT 'JSON list',
  `models` MEDIUMTEXT NULL COMMENT 'JSON list: {model, relation, rows, tests: {passed, failed: [names]}}',
  `audit` MEDIUMTEXT NULL COMMENT 'JSON: the failing tests and KPI checks, with offending ids, when held',
  `started_at` DATETIME(3) NOT NULL COMMENT 'UTC',
  `published_at` DATETIME(3) NULL COMMENT 'UTC; NULL unless published',
  PRIMARY KEY (`id`),
  KEY `ix_publications_day` (`dump_date`, `layer`, `status`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
