/**
 * The I/O side of enrichment: fetching reference records from a Redis hash per key, or from rows of a
 * ClickHouse table. Keys and values are bound (HMGET arguments, a typed query parameter), never spliced.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import type { Redis } from "ioredis";
import { parseDuration } from "../../api/v1alpha1/duration.js";
import type { PipelineSpec } from "../../api/v1alpha1/pipeline.js";
import { qualifiedName, quoteIdentifier } from "../../contracts/clickhouse/sql.js";
import type { LookupSource, ReferenceRecord } from "./enricher.js";

type EnrichmentSpec = NonNullable<PipelineSpec["enrich"]>[number];

interface LookupClients {
  readonly redis: Redis | undefined;
  readonly clickhouse: ClickHouseClient;
  readonly defaultDatabase: string;
}

export function createLookupSource(
  spec: EnrichmentSpec,
  index: number,
  clients: LookupClients,
): LookupSource {
  const path = `spec.enrich[${index}]`;
  const common = {
    name: spec.name,
    keyField: spec.keyField,
    fields: spec.fields,
    ttlMs: parseDuration(spec.ttl, `${path}.ttl`),
  };
  switch (spec.source) {
    case "redisHash": {
      const redis = clients.redis;
      if (redis === undefined) {
        throw new Error(
          `${path}: a redisHash lookup needs a Redis connection (spec.sink.redis and TALLY_REDIS_URL)`,
        );
      }
      return {
        ...common,
        async fetch(keys) {
          const pipeline = redis.pipeline();
          for (const key of keys) pipeline.hmget(`${spec.keyPrefix}${key}`, ...spec.fields);
          const replies = (await pipeline.exec()) ?? [];
          const found = new Map<string, ReferenceRecord>();
          replies.forEach(([error, values], i) => {
            if (error) throw error;
            const key = keys[i];
            if (key === undefined || !Array.isArray(values) || values.every((v) => v === null)) return;
            const record: Record<string, unknown> = {};
            spec.fields.forEach((field, j) => {
              record[field] = values[j] ?? null;
            });
            found.set(key, record);
          });
          return found;
        },
      };
    }
    case "clickhouseTable": {
      const table = qualifiedName(spec.database ?? clients.defaultDatabase, spec.table, `${path}`);
      const keyColumn = quoteIdentifier(spec.keyColumn, `${path}.keyColumn`);
      const columns = spec.fields.map((f, j) => quoteIdentifier(f, `${path}.fields[${j}]`));
      const query = `SELECT toString(${keyColumn}) AS __key, ${columns.join(", ")} FROM ${table} WHERE toString(${keyColumn}) IN {keys:Array(String)}`;
      return {
        ...common,
        async fetch(keys) {
          const result = await clients.clickhouse.query({
            query,
            query_params: { keys },
            format: "JSONEachRow",
            clickhouse_settings: { output_format_json_quote_64bit_integers: 0 },
          });
          const rows = await result.json<Record<string, unknown>>();
          const found = new Map<string, ReferenceRecord>();
          for (const row of rows) {
            const key = row.__key;
            if (typeof key === "string") found.set(key, row);
          }
          return found;
        },
      };
    }
    default:
      return assertNever(spec);
  }
}

function assertNever(value: never): never {
  throw new Error(`unexpected enrichment ${JSON.stringify(value)}`);
}
