/**
 * A realistic, deterministic clickstream for the runtime's integration tests and benchmark: users with
 * sessions (bursts of activity separated by idle gaps), event types with revenue on purchases, events
 * out of order within the pipeline's bound, late events (within and beyond the allowed lateness), producer
 * duplicates, bot traffic (filtered by the example pipeline's CEL), and invalid records (bad JSON, schema
 * violations). Users are keyed to partitions, as a producer keying by user would.
 *
 * Also computes what a correct pipeline must produce from it (the ground truth), independently of the
 * runtime's code path: which events land in the raw table and which records are dead letters.
 */

export interface ClickEvent {
  readonly event_id: string;
  readonly user_id: string;
  readonly session_id: string;
  readonly type: "page_view" | "click" | "add_to_cart" | "purchase";
  readonly url: string;
  /** Epoch ms. */
  readonly ts: number;
  readonly latency_ms: number;
  readonly value: number | null;
}

type MessageKind =
  | "valid"
  | "out-of-order"
  | "late"
  | "very-late"
  | "duplicate"
  | "bot"
  | "invalid-json"
  | "invalid-schema"
  | "sentinel";

export interface ProducedMessage {
  readonly partition: number;
  /** The offset it gets in a fresh topic: its index among its partition's messages. */
  readonly offset: number;
  readonly key: string;
  readonly value: string;
  readonly kind: MessageKind;
  /** The event, for every kind but the invalid ones. */
  readonly event: ClickEvent | undefined;
}

export interface GeneratorOptions {
  readonly seed: number;
  /** Messages per partition (before the final sentinel). */
  readonly perPartition: number;
  readonly partitions: number;
  readonly usersPerPartition?: number;
  /** Event time of the first events. */
  readonly startMs: number;
  /** Mean event-time advance between consecutive messages of a partition. */
  readonly spacingMs?: number;
  readonly rates?: Partial<
    Record<"outOfOrder" | "late" | "veryLate" | "duplicate" | "bot" | "invalidJson" | "invalidSchema", number>
  >;
}

const defaultRates = {
  outOfOrder: 0.15,
  late: 0.02,
  veryLate: 0.01,
  duplicate: 0.03,
  bot: 0.03,
  invalidJson: 0.005,
  invalidSchema: 0.01,
};

/** mulberry32: small, fast, and the same sequence everywhere for a seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const types: readonly [ClickEvent["type"], number][] = [
  ["page_view", 0.6],
  ["click", 0.25],
  ["add_to_cart", 0.1],
  ["purchase", 0.05],
];

function eventJson(e: ClickEvent): string {
  return JSON.stringify({
    event_id: e.event_id,
    user_id: e.user_id,
    session_id: e.session_id,
    type: e.type,
    url: e.url,
    ts: new Date(e.ts).toISOString(),
    latency_ms: e.latency_ms,
    ...(e.value === null ? {} : { value: e.value }),
  });
}

/** Messages per partition, in production order. */
export function generateClickstream(options: GeneratorOptions): ProducedMessage[][] {
  const random = seededRandom(options.seed);
  const rates = { ...defaultRates, ...options.rates };
  const spacing = options.spacingMs ?? 500;
  const usersPerPartition = options.usersPerPartition ?? 40;
  const sessionPeriodMs = 4 * 60_000;
  const pick = <T>(items: readonly T[]): T => {
    const item = items[Math.floor(random() * items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  };
  const pickType = (): ClickEvent["type"] => {
    let r = random();
    for (const [type, p] of types) {
      if (r < p) return type;
      r -= p;
    }
    return "page_view";
  };

  const out: ProducedMessage[][] = [];
  for (let partition = 0; partition < options.partitions; partition++) {
    const messages: ProducedMessage[] = [];
    const users = Array.from({ length: usersPerPartition }, (_, k) => `u${partition}-${k}`);
    const recent: ClickEvent[] = [];
    let clock = options.startMs + Math.floor(random() * 1000);
    let seq = 0;
    const push = (kind: MessageKind, key: string, value: string, event: ClickEvent | undefined) =>
      messages.push({ partition, offset: messages.length, key, value, kind, event });
    const makeEvent = (user: string, ts: number): ClickEvent => {
      const type = pickType();
      const session = Math.floor((ts + users.indexOf(user) * 37_000) / sessionPeriodMs);
      return {
        event_id: `p${partition}-e${seq++}`,
        user_id: user,
        session_id: `${user}-s${session}`,
        type,
        url: `/products/${Math.floor(random() * 25)}`,
        ts,
        latency_ms: Math.round(5 + random() ** 3 * 2000),
        value: type === "purchase" ? Math.round(100 + random() * 19_900) / 100 : null,
      };
    };

    for (let i = 0; i < options.perPartition; i++) {
      clock += Math.floor(random() * 2 * spacing);
      // Users are active two periods out of three (offset per user): idle gaps close their sessions.
      const active = users.filter((_, k) => Math.floor((clock + k * 37_000) / sessionPeriodMs) % 3 !== 0);
      const user = pick(active.length > 0 ? active : users);
      const r = random();
      let threshold = 0;
      const next = (rate: number) => {
        threshold += rate;
        return r < threshold;
      };
      if (next(rates.invalidJson)) {
        push(
          "invalid-json",
          user,
          `{"event_id": "p${partition}-bad${i}", "user_id": "${user}", "ts": `,
          undefined,
        );
      } else if (next(rates.invalidSchema)) {
        const e = makeEvent(user, clock);
        const broken = [
          { ...JSON.parse(eventJson(e)), type: "teleport" },
          { ...JSON.parse(eventJson(e)), ts: "yesterday" },
          { ...JSON.parse(eventJson(e)), latency_ms: -1 },
        ][i % 3];
        push("invalid-schema", user, JSON.stringify(broken), undefined);
      } else if (next(rates.duplicate) && recent.length > 0) {
        const original = pick(recent);
        push("duplicate", original.user_id, eventJson(original), original);
      } else if (next(rates.bot)) {
        const e = makeEvent(`bot-${Math.floor(random() * 5)}`, clock);
        push("bot", e.user_id, eventJson(e), e);
      } else if (next(rates.veryLate)) {
        const e = makeEvent(user, clock - 180_000 - Math.floor(random() * 240_000));
        push("very-late", user, eventJson(e), e);
      } else if (next(rates.late)) {
        const e = makeEvent(user, clock - 10_000 - Math.floor(random() * 45_000));
        push("late", user, eventJson(e), e);
      } else if (next(rates.outOfOrder)) {
        const e = makeEvent(user, clock - Math.floor(random() * 4_000));
        push("out-of-order", user, eventJson(e), e);
      } else {
        const e = makeEvent(user, clock);
        push("valid", user, eventJson(e), e);
      }
      const last = messages.at(-1)?.event;
      if (last !== undefined && messages.at(-1)?.kind !== "duplicate" && !last.user_id.startsWith("bot-")) {
        recent.push(last);
        if (recent.length > 20) recent.shift();
      }
    }
    // A final event far ahead moves the partition's watermark past every window above (even sessions).
    const sentinel = makeEvent(`sentinel-${partition}`, clock + 3_600_000);
    push("sentinel", sentinel.user_id, eventJson(sentinel), sentinel);
    out.push(messages);
  }
  return out;
}

const invalidKinds: ReadonlySet<MessageKind> = new Set(["invalid-json", "invalid-schema"]);

export interface ExpectedOutcome {
  /** Per partition, the events that must be in the raw table, in offset order. */
  readonly rows: readonly (readonly { readonly offset: number; readonly event: ClickEvent }[])[];
  /** Every message that must be in the dead-letter topic as invalid: (partition, offset, kind). */
  readonly invalid: readonly {
    readonly partition: number;
    readonly offset: number;
    readonly kind: "decode" | "schema";
  }[];
  readonly duplicates: number;
  readonly bots: number;
}

/**
 * What a correct pipeline writes, from the produced messages alone: invalid records are dead letters;
 * bots are filtered; an event whose id was emitted earlier on its partition, with an event time within
 * `dedupHorizonMs` of the newest emitted event time, is a duplicate; everything else is a raw row.
 */
export function expectedOutcome(
  partitions: readonly (readonly ProducedMessage[])[],
  dedupHorizonMs: number,
): ExpectedOutcome {
  const rows: { offset: number; event: ClickEvent }[][] = [];
  const invalid: { partition: number; offset: number; kind: "decode" | "schema" }[] = [];
  let duplicates = 0;
  let bots = 0;
  for (const messages of partitions) {
    const emitted: { offset: number; event: ClickEvent }[] = [];
    const seen = new Map<string, number>();
    let newest = Number.NEGATIVE_INFINITY;
    for (const m of messages) {
      if (invalidKinds.has(m.kind) || m.event === undefined) {
        invalid.push({
          partition: m.partition,
          offset: m.offset,
          kind: m.kind === "invalid-json" ? "decode" : "schema",
        });
        continue;
      }
      const e = m.event;
      const previous = seen.get(e.event_id);
      if (previous !== undefined && previous >= newest - dedupHorizonMs) {
        duplicates++;
        continue;
      }
      if (e.user_id.startsWith("bot-")) {
        bots++;
        continue;
      }
      seen.set(e.event_id, Math.max(previous ?? Number.NEGATIVE_INFINITY, e.ts));
      newest = Math.max(newest, e.ts);
      emitted.push({ offset: m.offset, event: e });
    }
    rows.push(emitted);
  }
  return { rows, invalid, duplicates, bots };
}
