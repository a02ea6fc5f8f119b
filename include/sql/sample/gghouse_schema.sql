-- Sample of the source database `gghouse` (DESIGN.md section 2), for local runs and tests.
-- Built by tokyobeta.sample.source.build_sample_source, which runs one statement at a time:
-- every statement ends with a semicolon at the end of a line, and no other line does.
-- Contract tables first (tenants, movings, rooms, apartments, inquiries), then the bulky
-- tables the pipeline never loads. Column order matches tokyobeta.sample.generator.

CREATE TABLE `apartments` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `name` VARCHAR(191) NOT NULL,
  `address` VARCHAR(255) DEFAULT NULL,
  `postal_code` VARCHAR(16) DEFAULT NULL,
  `prefecture` VARCHAR(32) DEFAULT NULL,
  `municipality` VARCHAR(64) DEFAULT NULL,
  `nearest_station` VARCHAR(64) DEFAULT NULL,
  `opened_on` DATE DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_apartments_updated_at` (`updated_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- status: 1 vacant, 2 reserved (future move-in), 3 occupied, 4 occupied with move-out
-- notice, 9 closed (storage, renovation)
CREATE TABLE `rooms` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `apartment_id` INT UNSIGNED NOT NULL,
  `room_number` VARCHAR(32) NOT NULL,
  `floor` TINYINT UNSIGNED DEFAULT NULL,
  `room_type` VARCHAR(32) DEFAULT NULL,
  `size_sqm` DECIMAL(4,1) DEFAULT NULL,
  `rent` INT NOT NULL,
  `status` TINYINT NOT NULL DEFAULT 1,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_rooms_apartment_id` (`apartment_id`),
  KEY `idx_rooms_updated_at` (`updated_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- status: include/dbt/seeds/tenant_status.csv; gender: 0 unknown, 1 male, 2 female
CREATE TABLE `tenants` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `status` TINYINT NOT NULL,
  `full_name` VARCHAR(191) NOT NULL,
  `full_name_kana` VARCHAR(191) DEFAULT NULL,
  `nationality` VARCHAR(64) DEFAULT NULL,
  `gender` TINYINT NOT NULL DEFAULT 0,
  `birth_date` DATE DEFAULT NULL,
  `email` VARCHAR(191) DEFAULT NULL,
  `phone` VARCHAR(32) DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_tenants_status` (`status`),
  KEY `idx_tenants_created_at` (`created_at`),
  KEY `idx_tenants_updated_at` (`updated_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- moving_agreement_type: include/dbt/seeds/moving_agreement_type.csv (authoritative)
-- contract_type: legacy codes, include/dbt/seeds/legacy_contract_type.csv
CREATE TABLE `movings` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED NOT NULL,
  `apartment_id` INT UNSIGNED NOT NULL,
  `room_id` INT UNSIGNED NOT NULL,
  `moving_agreement_type` TINYINT NOT NULL,
  `contract_type` TINYINT DEFAULT NULL,
  `move_in_date` DATE DEFAULT NULL,
  `moveout_date` DATE DEFAULT NULL,
  `moveout_plans_date` DATE DEFAULT NULL,
  `cancel_flag` TINYINT(1) NOT NULL DEFAULT 0,
  `rent` INT DEFAULT NULL,
  `deposit` INT DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_movings_tenant_id` (`tenant_id`),
  KEY `idx_movings_room_id` (`room_id`),
  KEY `idx_movings_move_in_date` (`move_in_date`),
  KEY `idx_movings_updated_at` (`updated_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- inquiry_status: 1 open, 2 responded, 3 closed. Rows are imported from the CRM, so
-- created_at lags inquired_at; tenant_id is set only when staff link a registered tenant.
CREATE TABLE `inquiries` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED DEFAULT NULL,
  `apartment_id` INT UNSIGNED DEFAULT NULL,
  `channel` VARCHAR(32) NOT NULL,
  `inquiry_status` TINYINT NOT NULL DEFAULT 1,
  `message` TEXT,
  `inquired_at` DATETIME NOT NULL,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_inquiries_tenant_id` (`tenant_id`),
  KEY `idx_inquiries_inquired_at` (`inquired_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Not a contract table: its name only starts with one. Former tenants moved here from
-- `tenants` by a yearly archiving job.
CREATE TABLE `tenants_archive` (
  `id` INT UNSIGNED NOT NULL AUTO_INCREMENT,
  `status` TINYINT NOT NULL,
  `full_name` VARCHAR(191) NOT NULL,
  `full_name_kana` VARCHAR(191) DEFAULT NULL,
  `nationality` VARCHAR(64) DEFAULT NULL,
  `gender` TINYINT NOT NULL DEFAULT 0,
  `birth_date` DATE DEFAULT NULL,
  `email` VARCHAR(191) DEFAULT NULL,
  `phone` VARCHAR(32) DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  `archived_at` DATETIME NOT NULL,
  `archive_reason` VARCHAR(32) DEFAULT NULL,
  `notes` TEXT,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `movings_history` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `moving_id` INT UNSIGNED NOT NULL,
  `tenant_id` INT UNSIGNED DEFAULT NULL,
  `action` VARCHAR(32) NOT NULL,
  `changed_by` VARCHAR(64) DEFAULT NULL,
  `changed_at` DATETIME NOT NULL,
  `before_json` TEXT,
  `after_json` TEXT,
  PRIMARY KEY (`id`),
  KEY `idx_movings_history_moving_id` (`moving_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- status: 1 pending, 2 paid, 3 failed
CREATE TABLE `payments` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED NOT NULL,
  `moving_id` INT UNSIGNED DEFAULT NULL,
  `amount` INT NOT NULL,
  `method` VARCHAR(32) NOT NULL,
  `status` TINYINT NOT NULL,
  `due_date` DATE DEFAULT NULL,
  `paid_at` DATETIME DEFAULT NULL,
  `memo` VARCHAR(255) DEFAULT NULL,
  `gateway_response` TEXT,
  `created_at` DATETIME NOT NULL,
  `updated_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_payments_tenant_id` (`tenant_id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- status: 1 queued, 2 sent, 3 bounced
CREATE TABLE `mail_queue` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED DEFAULT NULL,
  `to_address` VARCHAR(191) NOT NULL,
  `subject` VARCHAR(255) NOT NULL,
  `body` MEDIUMTEXT,
  `status` TINYINT NOT NULL,
  `attempts` TINYINT UNSIGNED NOT NULL DEFAULT 0,
  `sent_at` DATETIME DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE `access_logs` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED DEFAULT NULL,
  `session_id` CHAR(32) NOT NULL,
  `ip` VARCHAR(45) NOT NULL,
  `method` VARCHAR(8) NOT NULL,
  `path` VARCHAR(512) NOT NULL,
  `status_code` SMALLINT UNSIGNED NOT NULL,
  `response_ms` INT UNSIGNED NOT NULL,
  `user_agent` VARCHAR(512) DEFAULT NULL,
  `referer` VARCHAR(512) DEFAULT NULL,
  `request_headers` TEXT,
  `created_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Application event trail: the bulk of a production dump by row count (narrow rows, two
-- secondary indexes), which is what makes replaying a whole dump slow.
CREATE TABLE `event_log` (
  `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT,
  `tenant_id` INT UNSIGNED DEFAULT NULL,
  `room_id` INT UNSIGNED DEFAULT NULL,
  `event_type` VARCHAR(32) NOT NULL,
  `actor` VARCHAR(32) NOT NULL,
  `ip` VARCHAR(45) DEFAULT NULL,
  `created_at` DATETIME NOT NULL,
  PRIMARY KEY (`id`),
  KEY `idx_event_log_tenant` (`tenant_id`, `created_at`),
  KEY `idx_event_log_type` (`event_type`, `created_at`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
