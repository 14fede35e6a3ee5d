/**
 * One generated analytics dataset for a test file (funnel, segments): eight whole UTC days of events
 * ending at least a day ago, loaded into the stack's ClickHouse before the file's tests and dropped
 * after them with the client closed. Requests ask about days 1 to 7 (fromMs … toMs), so day 0 holds
 * what came before and every day has ended.
 */
import type { ClickHouseClient } from "@clickhouse/client";
import { afterAll, beforeAll } from "vitest";
import type { QueryFilter } from "../../api/v1alpha1/query.js";
import {
  dropAnalyticsDataset,
  type LoadedAnalyticsDataset,
  loadAnalyticsDataset,
  type Predicate,
} from "./analytics-dataset.js";
import { clickhouseClient } from "./runtime-harness.js";

export const day = 86_400_000;

export interface AnalyticsDatasetFile {
  readonly clickhouse: ClickHouseClient;
  /** Midnight UTC of the first generated day. */
  readonly startMs: number;
  readonly fromMs: number;
  readonly toMs: number;
  /** The loaded dataset; only inside tests and hooks registered after this call. */
  readonly dataset: LoadedAnalyticsDataset;
}

/** Registers the file's beforeAll (load) and afterAll (drop, close): call it at the top of the file. */
export function analyticsDatasetFile(
  label: string,
  options: { readonly seed: number; readonly users: number },
): AnalyticsDatasetFile {
  const clickhouse = clickhouseClient();
  const startMs = Math.floor((Date.now() - 9 * day) / day) * day;
  let loaded: LoadedAnalyticsDataset | undefined;
  beforeAll(async () => {
    loaded = await loadAnalyticsDataset(clickhouse, label, { ...options, startMs, days: 8, maxAttempts: 3 });
  }, 120_000);
  afterAll(async () => {
    if (loaded !== undefined) await dropAnalyticsDataset(clickhouse, loaded.spec);
    await clickhouse.close();
  });
  return {
    clickhouse,
    startMs,
    fromMs: startMs + day,
    toMs: startMs + 7 * day,
    get dataset(): LoadedAnalyticsDataset {
      if (loaded === undefined) throw new Error(`the ${label} dataset is not loaded (its beforeAll failed?)`);
      return loaded;
    },
  };
}

/** An event type as a request filter and as the reference's predicate over the generated events. */
export const typeIs = (type: string): { filter: QueryFilter; predicate: Predicate } => ({
  filter: { op: "eq", field: "type", value: type },
  predicate: (e) => e.type === type,
});
