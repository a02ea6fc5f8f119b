CREATE TABLE IF NOT EXISTS `${gold}`.`occupancy_daily_metrics` (
  `metric_date` DATE NOT NULL,
  `as_of_snapshot_date` DATE NOT NULL COMMENT 'MAX(snapshot_date) the row was computed from',
  `is_projection` TINYINT(1) NOT NULL COMMENT '1 when metric_date is after as_of_snapshot_date',
  `move_ins` INT NOT NULL,
  `move_outs` INT NOT NULL,
  `occupied_rooms` INT NOT NULL,
  `total_rooms` INT NOT NULL,
  `occupancy_rate` DECIMAL(7, 4) NULL COMMENT 'occupied_rooms / total_rooms',
  `gold_publication_id` BIGINT UNSIGNED NULL COMMENT 'ops.publications.id of the gold the row was computed from; NULL when gold was built without a publish step',
  PRIMARY KEY (`metric_date`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
