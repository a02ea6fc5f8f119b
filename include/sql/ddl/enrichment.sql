-- Enrichment caches survive every staging swap (they are not among the swapped tables).
-- Keyed by normalised input + provider + model + prompt version: changing any of them asks again.
CREATE TABLE IF NOT EXISTS `${staging}`.`llm_enrichment_cache` (
  `input_normalized` VARCHAR(255) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `provider` VARCHAR(32) NOT NULL,
  `model_id` VARCHAR(128) NOT NULL,
  `prompt_version` VARCHAR(32) NOT NULL,
  `country_code` VARCHAR(8) NOT NULL COMMENT 'ISO 3166-1 alpha-2 or UNKNOWN',
  `label_en` VARCHAR(128) NULL,
  `label_ja` VARCHAR(128) NULL,
  `source` VARCHAR(16) NOT NULL COMMENT 'rule | model | unknown',
  `created_at` DATETIME NOT NULL COMMENT 'UTC',
  `updated_at` DATETIME NOT NULL COMMENT 'UTC',
  PRIMARY KEY (`input_normalized`, `provider`, `model_id`, `prompt_version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

CREATE TABLE IF NOT EXISTS `${staging}`.`llm_property_municipality_cache` (
  `address_normalized` VARCHAR(512) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,
  `provider` VARCHAR(32) NOT NULL,
  `model_id` VARCHAR(128) NOT NULL,
  `prompt_version` VARCHAR(32) NOT NULL,
  `prefecture` VARCHAR(16) NULL,
  `municipality` VARCHAR(64) NULL COMMENT 'NULL when unknown',
  `source` VARCHAR(16) NOT NULL COMMENT 'rule | model | unknown',
  `created_at` DATETIME NOT NULL COMMENT 'UTC',
  `updated_at` DATETIME NOT NULL COMMENT 'UTC',
  PRIMARY KEY (`address_normalized`(255), `provider`, `model_id`, `prompt_version`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;

-- What silver joins: the answer for every raw value in the current staging load, rebuilt by
-- each enrichment run from the caches (no timestamps, so reruns give identical tables).
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
  `source` VARCHAR(16) NOT NULL,
  PRIMARY KEY (`apartment_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
