CREATE DATABASE IF NOT EXISTS `default`;

CREATE TABLE IF NOT EXISTS `default`.`clickstream_events`
(
  `event_id` String,
  `user_id` String,
  `session_id` Nullable(String),
  `type` LowCardinality(String),
  `url` Nullable(String),
  `ts` DateTime64(3),
  `latency_ms` Nullable(Float64),
  `value` Nullable(Float64),
  `_topic` LowCardinality(String),
  `_partition` UInt32,
  `_offset` UInt64,
  `_inserted_at` DateTime64(3) DEFAULT now64(3)
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(toDateTime(`ts`))
ORDER BY (`ts`, _partition, _offset)
TTL toDateTime(`ts`) + INTERVAL 90 DAY
SETTINGS non_replicated_deduplication_window = 10000, ttl_only_drop_parts = 1