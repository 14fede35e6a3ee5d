/**
 * Stand-in only: `tally_standin.query_log`, one row per query that carried a `log_comment` setting.
 * chdb keeps no `system.query_log` (not even with a `<query_log>` config file), yet tests must count
 * the queries that reached ClickHouse, e.g. "200 identical requests made exactly one query". Rows use
 * the real `system.query_log` column names, so a test's count reads the same on both:
 *   SELECT count() FROM <table> WHERE log_comment = {c:String} AND type = 'QueryFinish'
 * Only tagged queries are recorded, so untagged traffic costs nothing; the table is a Memory table,
 * emptied by a restart.
 */

export const standinQueryLogTable = "tally_standin.query_log";

export const standinQueryLogSetup: readonly string[] = [
  "CREATE DATABASE IF NOT EXISTS tally_standin",
  // OR REPLACE: a data directory from an older stand-in gets the current columns.
  `CREATE OR REPLACE TABLE ${standinQueryLogTable} (
     event_time DateTime64(3, 'UTC'),
     query_id String,
     log_comment String,
     type Enum8('QueryFinish' = 2, 'ExceptionWhileProcessing' = 4),
     exception_code Int32
   ) ENGINE = Memory`,
];

export type QueryLogOutcome =
  | { readonly type: "QueryFinish" }
  | { readonly type: "ExceptionWhileProcessing"; readonly code: number };

/**
 * The JSONEachRow line to insert for a finished query, or undefined when the query carried no
 * `log_comment` (those are not recorded).
 */
export function queryLogRow(
  settings: ReadonlyMap<string, string>,
  queryId: string,
  outcome: QueryLogOutcome,
  now: Date,
): string | undefined {
  const logComment = settings.get("log_comment");
  if (logComment === undefined || logComment === "") return undefined;
  return `${JSON.stringify({
    event_time: now.toISOString().replace("T", " ").replace("Z", ""),
    query_id: queryId,
    log_comment: logComment,
    type: outcome.type,
    exception_code: outcome.type === "QueryFinish" ? 0 : outcome.code,
  })}\n`;
}
