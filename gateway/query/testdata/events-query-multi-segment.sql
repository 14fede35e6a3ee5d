SELECT
toUnixTimestamp(toStartOfInterval(toDateTime(_t), INTERVAL 1 HOUR, {p18:String})) * 1000 AS time,
  `type`,
  countMerge(_m0) AS `events`,
  sumIfMerge(_m1) AS `revenue`,
  countMerge(_m2) AS `n`
FROM (
SELECT toUnixTimestamp(toStartOfInterval(toDateTime(`ts`), INTERVAL 1 HOUR, {p0:String})) AS _t, `type`, countState() AS _m0, sumIfState(assumeNotNull(`value`), isNotNull(`value`)) AS _m1, countState() AS _m2 FROM `default`.`clickstream_events` WHERE `ts` >= fromUnixTimestamp64Milli({p1:Int64}) AND `ts` < fromUnixTimestamp64Milli({p2:Int64}) AND (`type` IN {p3:Array(String)} AND NOT (`type` = {p4:String})) GROUP BY _t, `type`
UNION ALL
SELECT toUnixTimestamp(bucket) AS _t, `type`, `events` AS _m0, `revenue` AS _m1, `events` AS _m2 FROM `default`.`rollup_shop__clicks_per_minute_v1` WHERE bucket >= toDateTime({p5:Int64}) AND bucket < toDateTime({p6:Int64}) AND (`type` IN {p7:Array(String)} AND NOT (`type` = {p8:String}))
UNION ALL
SELECT toUnixTimestamp(bucket) AS _t, `type`, `events` AS _m0, `revenue` AS _m1, `events` AS _m2 FROM `default`.`rollup_shop__clicks_per_hour_v1` WHERE bucket >= toDateTime({p9:Int64}) AND bucket < toDateTime({p10:Int64}) AND (`type` IN {p11:Array(String)} AND NOT (`type` = {p12:String}))
UNION ALL
SELECT toUnixTimestamp(toStartOfInterval(toDateTime(`ts`), INTERVAL 1 HOUR, {p13:String})) AS _t, `type`, countState() AS _m0, sumIfState(assumeNotNull(`value`), isNotNull(`value`)) AS _m1, countState() AS _m2 FROM `default`.`clickstream_events` WHERE `ts` >= fromUnixTimestamp64Milli({p14:Int64}) AND `ts` < fromUnixTimestamp64Milli({p15:Int64}) AND (`type` IN {p16:Array(String)} AND NOT (`type` = {p17:String})) GROUP BY _t, `type`
)
GROUP BY time, `type`
ORDER BY `events` DESC, `time` ASC
LIMIT {p19:UInt32} OFFSET {p20:UInt32}