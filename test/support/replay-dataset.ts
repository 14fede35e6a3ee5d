/**
 * A replay of history, as a team backfilling a Pipeline from an existing topic produces it: records
 * whose event times span weeks, in bursts, with bounded disorder inside each burst, exact producer
 * duplicates both close to their original (inside the dedup horizon) and long after it (beyond the
 * horizon, where deduplication by design lets them through), and invalid records. Its ground truth —
 * what the raw table, the hourly and daily rollups and the windows must hold — is computed here from
 * the records alone, without any of Tally's code.
 */
import { seededRandom } from "./clickstream-generator.js";

interface ReplayEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly type: "view" | "click" | "buy";
  /** Epoch ms. */
  readonly ts: number;
  readonly value: number;
}

type ReplayKind = "event" | "near-duplicate" | "far-duplicate" | "invalid-json" | "invalid-schema";

interface ReplayRecord {
  readonly partition: number;
  readonly offset: number;
  readonly key: string;
  readonly value: string;
  readonly kind: ReplayKind;
  readonly event: ReplayEvent | undefined;
}

interface ReplayOptions {
  readonly seed: number;
  readonly partitions: number;
  readonly perPartition: number;
  /** Event time of the first burst; the last lies about `spanMs` later. */
  readonly startMs: number;
  readonly spanMs: number;
  /** Events of one burst are at most this far out of order (keep it under maxOutOfOrderness). */
  readonly disorderMs: number;
}

const types: readonly ReplayEvent["type"][] = ["view", "view", "view", "click", "click", "buy"];

function eventJson(e: ReplayEvent): string {
  return JSON.stringify({ ...e, ts: new Date(e.ts).toISOString() });
}

/** Records per partition in production (offset) order. */
export function generateReplay(options: ReplayOptions): ReplayRecord[][] {
  const random = seededRandom(options.seed);
  const burstSize = 40;
  const bursts = Math.ceil(options.perPartition / burstSize);
  const burstGapMs = Math.floor(options.spanMs / bursts);
  const out: ReplayRecord[][] = [];
  for (let partition = 0; partition < options.partitions; partition++) {
    const records: ReplayRecord[] = [];
    const history: ReplayEvent[] = [];
    let seq = 0;
    const push = (kind: ReplayKind, value: string, event: ReplayEvent | undefined, key: string) =>
      records.push({ partition, offset: records.length, key, value, kind, event });
    let clock = options.startMs;
    for (let i = 0; i < options.perPartition; i++) {
      // A burst every burstGapMs (about a day's activity squeezed into minutes), 1.5 s apart inside one.
      clock = i % burstSize === 0 ? options.startMs + (i / burstSize) * burstGapMs : clock + 1_500;
      const user = `u${partition}-${Math.floor(random() * 30)}`;
      const r = random();
      const recent = history.slice(-10);
      if (r < 0.01) {
        push("invalid-json", `{"event_id": "p${partition}-bad${i}", "ts": `, undefined, user);
      } else if (r < 0.02) {
        const broken = {
          event_id: `p${partition}-x${i}`,
          user_id: user,
          type: "teleport",
          ts: "x",
          value: 1,
        };
        push("invalid-schema", JSON.stringify(broken), undefined, user);
      } else if (r < 0.05 && recent.length > 0) {
        const original = recent[Math.floor(random() * recent.length)] as ReplayEvent;
        push("near-duplicate", eventJson(original), original, original.user_id);
      } else if (r < 0.08 && history.length > 2 * burstSize) {
        // From an earlier burst: hours or days of event time behind the partition's newest event.
        const original = history[Math.floor(random() * (history.length - burstSize))] as ReplayEvent;
        push("far-duplicate", eventJson(original), original, original.user_id);
      } else {
        const type = types[Math.floor(random() * types.length)] ?? "view";
        const event: ReplayEvent = {
          event_id: `p${partition}-e${seq++}`,
          user_id: user,
          type,
          ts: clock - Math.floor(random() * options.disorderMs),
          value: Math.round((type === "buy" ? 5 + random() * 495 : random() * 10) * 100) / 100,
        };
        history.push(event);
        push("event", eventJson(event), event, user);
      }
    }
    out.push(records);
  }
  return out;
}

interface ReplayTruth {
  /** Per partition, the events that must reach the raw table, in offset order. */
  readonly rows: readonly (readonly ReplayEvent[])[];
  readonly invalid: readonly { readonly partition: number; readonly offset: number }[];
  readonly droppedDuplicates: number;
  /** Duplicates further than the horizon from the partition's newest event: counted again, by design. */
  readonly keptDuplicates: number;
  /** `partition:offset` of every row too late for the windows (watermark past its window's end + lateness). */
  readonly lateForWindows: ReadonlySet<string>;
  readonly windowEvents: readonly ReplayEvent[];
}

/**
 * The pipeline's semantics, written out: invalid records are dead letters; a record whose event id was
 * already emitted on its partition with an event time within `horizonMs` of the newest emitted event
 * time is dropped; the windows take a row unless its partition's watermark (newest event time minus
 * `maxOutOfOrdernessMs`) has passed its window's end plus `allowedLatenessMs`.
 */
export function replayTruth(
  records: readonly (readonly ReplayRecord[])[],
  semantics: {
    readonly horizonMs: number;
    readonly maxOutOfOrdernessMs: number;
    readonly allowedLatenessMs: number;
    readonly windowMs: number;
  },
): ReplayTruth {
  const rows: ReplayEvent[][] = [];
  const invalid: { partition: number; offset: number }[] = [];
  const lateForWindows = new Set<string>();
  const windowEvents: ReplayEvent[] = [];
  let droppedDuplicates = 0;
  let keptDuplicates = 0;
  for (const partitionRecords of records) {
    const emitted: ReplayEvent[] = [];
    const seen = new Map<string, number>();
    let newest = Number.NEGATIVE_INFINITY;
    for (const record of partitionRecords) {
      const e = record.event;
      if (e === undefined) {
        invalid.push({ partition: record.partition, offset: record.offset });
        continue;
      }
      const previous = seen.get(e.event_id);
      if (previous !== undefined && previous >= newest - semantics.horizonMs) {
        droppedDuplicates++;
        continue;
      }
      if (previous !== undefined) keptDuplicates++;
      seen.set(e.event_id, e.ts);
      const watermark = newest - semantics.maxOutOfOrdernessMs;
      const windowEnd = Math.floor(e.ts / semantics.windowMs) * semantics.windowMs + semantics.windowMs;
      if (windowEnd + semantics.allowedLatenessMs <= watermark)
        lateForWindows.add(`${record.partition}:${record.offset}`);
      else windowEvents.push(e);
      newest = Math.max(newest, e.ts);
      emitted.push(e);
    }
    rows.push(emitted);
  }
  return { rows, invalid, droppedDuplicates, keptDuplicates, lateForWindows, windowEvents };
}

export interface BucketTruth {
  count: number;
  sum: number;
  max: number;
  users: Set<string>;
  values: number[];
}

/** count, sum, max, distinct users and the values of every (bucket start, type). */
export function bucketTruth(events: Iterable<ReplayEvent>, bucketMs: number): Map<string, BucketTruth> {
  const buckets = new Map<string, BucketTruth>();
  for (const e of events) {
    const key = `${Math.floor(e.ts / bucketMs) * bucketMs}|${e.type}`;
    let b = buckets.get(key);
    if (b === undefined) {
      b = { count: 0, sum: 0, max: Number.NEGATIVE_INFINITY, users: new Set(), values: [] };
      buckets.set(key, b);
    }
    b.count++;
    b.sum += e.value;
    b.max = Math.max(b.max, e.value);
    b.users.add(e.user_id);
    b.values.push(e.value);
  }
  return buckets;
}
