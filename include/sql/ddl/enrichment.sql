-- Enrichment caches survive every staging swap (they are not among the swapped tables).
-- Keyed by the normalised input (its SHA-256, so long addresses cannot collide on a prefix)
-- + provider + model + prompt version: changing any of them asks again. source is rule (the
-- rules' answer, recorded for the audit trail and never reused: rules run first every time),
-- model (a validated model answer) or unknown (the model did not know or its answer failed
-- validation; not asked again under the same key). Inputs the model could not be asked (cap,
-- errors) are not cached, so the next run asks them.
CREATE TABLE IF NOT EXISTS `${staging}`.`llm_enrichment_cache` (
  `input_sha256` CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of input_normalized (UTF-8)',
  `provider` VARCHAR(32) NOT NULL,
  `model_id` VARCHAR(128) NOT NULL,
  `prompt_version` VARCHAR(32) NOT NULL,
  `input_normalized` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'what the model is shown',
  `country_code` VARCHAR(8) NOT NULL COMMENT 'ISO 3166-1 alpha-2 or UNKNOWN',
  `label_en` VARCHAR(128) NULL,
  `label_ja` VARCHAR(128) NULL,
  `source` VARCHAR(16) NOT NULL COMMENT 'rule | model | unknown',
  `model_reply` VARCHAR(512) NULL COMMENT 'the raw reply, kept for answers that failed validation',
  `created_at` DATETIME NOT NULL COMMENT 'UTC, first answered',
  `updated_at` DATETIME NOT NULL COMMENT 'UTC, answer last changed',
  PRIMARY KEY (`input_sha256`, `provider`, `model_id`, `prompt_version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `${staging}`.`llm_property_municipality_cache` (
  `input_sha256` CHAR(64) CHARACTER SET ascii NOT NULL COMMENT 'SHA-256 of address_normalized (UTF-8)',
  `provider` VARCHAR(32) NOT NULL,
  `model_id` VARCHAR(128) NOT NULL,
  `prompt_version` VARCHAR(32) NOT NULL,
  `address_normalized` VARCHAR(1024) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL COMMENT 'what the model is shown',
  `prefecture` VARCHAR(16) NULL,
  `municipality` VARCHAR(64) NULL COMMENT 'NULL when unknown',
  `municipality_code` CHAR(6) CHARACTER SET ascii NULL COMMENT '全国地方公共団体コード with check digit',
  `source` VARCHAR(16) NOT NULL COMMENT 'rule | model | unknown',
  `model_reply` VARCHAR(512) NULL COMMENT 'the raw reply, kept for answers that failed validation',
  `created_at` DATETIME NOT NULL COMMENT 'UTC, first answered',
  `updated_at` DATETIME NOT NULL COMMENT 'UTC, answer last changed',
  PRIMARY KEY (`input_sha256`, `provider`, `model_id`, `prompt_version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What silver joins: the answer for every raw value in the current staging load, rebuilt by
-- each enrichment run (no timestamps, so reruns give identical tables). source: rule | model |
-- unknown | pending (not answered yet: the cap or model errors left it for the next run).
CREATE TABLE IF NOT EXISTS `${staging}`.`nationality_map` (
  `raw_value` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `country_code` VARCHAR(8) NOT NULL,
  `label_en` VARCHAR(128) NULL,
  `label_ja` VARCHAR(128) NULL,
  `source` VARCHAR(16) NOT NULL,
  PRIMARY KEY (`raw_value`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `${staging}`.`apartment_municipality_map` (
  `apartment_id` BIGINT NOT NULL,
  `prefecture` VARCHAR(16) NULL,
  `municipality` VARCHAR(64) NULL,
  `municipality_code` CHAR(6) CHARACTER SET ascii NULL COMMENT '全国地方公共団体コード with check digit',
  `source` VARCHAR(16) NOT NULL,
  PRIMARY KEY (`apartment_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
