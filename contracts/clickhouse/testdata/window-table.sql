CREATE DATABASE IF NOT EXISTS `default`;

CREATE TABLE IF NOT EXISTS `default`.`clickstream_events_windows`
(
  `window_name` LowCardinality(String),
  `window_start` DateTime64(3),
  `window_end` DateTime64(3),
  `group_key` String,
  `source_topic` LowCardinality(String),
  `source_partition` UInt32,
  `version` UInt64,
  `is_deleted` UInt8,
  `states` String,
  `results` String,
  `_inserted_at` DateTime64(3) DEFAULT now64(3)
)
ENGINE = ReplacingMergeTree(version, is_deleted)
PARTITION BY toYYYYMM(window_start)
ORDER BY (window_name, window_start, group_key, source_topic, source_partition)
TTL toDateTime(window_end) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000