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
  `dump_version_id` VARCHAR(1024) NULL COMMENT 'S3 version of the dump object read; NULL from a local file or an unversioned bucket',
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

-- What the two steps after publish did for a dump day: upsert_kpis (the KPI window, its row
-- counts, the snapshot and gold publication it read) and archive_dump (the archive key and its
-- S3 version). One row per attempt; lineage reads the newest of each step.
-- status: done | skipped (disabled by a setting) | failed
CREATE TABLE IF NOT EXISTS `${ops}`.`step_log` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `dump_date` DATE NOT NULL,
  `step` VARCHAR(64) NOT NULL COMMENT 'upsert_kpis | archive_dump',
  `run_id` VARCHAR(250) NULL,
  `status` VARCHAR(16) NOT NULL,
  `detail` MEDIUMTEXT NULL COMMENT 'JSON object',
  `finished_at` DATETIME(3) NOT NULL COMMENT 'UTC',
  PRIMARY KEY (`id`),
  KEY `ix_step_log_day` (`dump_date`, `step`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- The one join from a gold (or silver) row to the publication it came from: every model is
-- built one dump day at a time (daily_partition), so a row of day d was written by the newest
-- publication of its layer with dump_date = d that was published. One row per (layer, dump_date).
CREATE OR REPLACE VIEW `${ops}`.`current_publications` AS
SELECT p.*
FROM `${ops}`.`publications` p
WHERE p.status = 'published'
  AND NOT EXISTS (
    SELECT 1 FROM `${ops}`.`publications` q
    WHERE q.layer = p.layer AND q.dump_date = p.dump_date AND q.status = 'published'
      AND (q.published_at > p.published_at OR (q.published_at = p.published_at AND q.id > p.id))
  );
