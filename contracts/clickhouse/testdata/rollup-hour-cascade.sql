CREATE TABLE IF NOT EXISTS `default`.`rollup_default__clicks_1h_v1`
(
  `bucket` DateTime,
  `type` LowCardinality(String),
  `events` AggregateFunction(count),
  `_inserted_at` SimpleAggregateFunction(max, DateTime64(3))
)
ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(bucket)
ORDER BY (bucket, `type`)
SETTINGS non_replicated_deduplication_window = 10000;

CREATE MATERIALIZED VIEW IF NOT EXISTS `default`.`rollup_default__clicks_1h_v1_mv` TO `default`.`rollup_default__clicks_1h_v1` AS
SELECT
  toDateTime(toStartOfInterval(bucket, INTERVAL 1 HOUR)) AS bucket,
  `type`,
  countMergeState(`events`) AS `events`,
  max(_inserted_at) AS _inserted_at
FROM (SELECT * FROM `default`.`rollup_default__clicks_1m_v1` WHERE _inserted_at >= toDateTime64('2026-11-23 10:00:00.000', 3, 'UTC'))
GROUP BY bucket, `type`;

INSERT INTO `default`.`rollup_default__clicks_1h_v1_backfill`
SELECT
  toDateTime(toStartOfInterval(toDateTime(`ts`), INTERVAL 1 HOUR)) AS bucket,
  `type`,
  countState() AS `events`,
  max(_inserted_at) AS _inserted_at
FROM (SELECT * FROM `default`.`clickstream_events` WHERE _inserted_at < toDateTime64('2026-11-23 10:00:00.000', 3, 'UTC') AND `type` IN ('click', 'purchase'))
GROUP BY bucket, `type`