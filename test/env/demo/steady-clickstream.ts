/**
 * The live demo's traffic: a steady clickstream produced once a second until stopped, with event times
 * at the wall clock. Unlike the bounded generator (clickstream-generator.ts) it has no end sentinel and
 * its event ids never repeat across batches, so it can flow for as long as the demo runs; a few events
 * arrive a little out of order and a few are producer duplicates, as real traffic does.
 */
import kafkajs from "kafkajs";
import { kafkaBrokers } from "../config.js";

export interface ClickMessage {
  readonly partition: number;
  readonly key: string;
  readonly value: string;
}

const types = [
  ["page_view", 0.6],
  ["click", 0.28],
  ["add_to_cart", 0.08],
  ["purchase", 0.04],
] as const;
const urls = ["/", "/search", "/product/1", "/product/2", "/cart", "/checkout"] as const;

/**
 * One batch: `count` events from users keyed to `partitions` partitions, ids `<runId>-<first + i>`,
 * event times within the second before `nowMs` (5% up to 3 s older: out of order within the pipeline's
 * 5 s bound), 2% sent twice. `random` in [0, 1).
 */
export function clickBatch(options: {
  readonly runId: string;
  readonly first: number;
  readonly count: number;
  readonly nowMs: number;
  readonly partitions: number;
  readonly random: () => number;
}): ClickMessage[] {
  const { random } = options;
  const out: ClickMessage[] = [];
  for (let i = 0; i < options.count; i++) {
    const user = `u${Math.floor(random() * 200)}`;
    let r = random();
    let type: string = "page_view";
    for (const [name, p] of types) {
      if (r < p) {
        type = name;
        break;
      }
      r -= p;
    }
    const late = random() < 0.05 ? Math.floor(random() * 3_000) : 0;
    const event = {
      event_id: `${options.runId}-${options.first + i}`,
      user_id: user,
      session_id: `${user}-s`,
      type,
      url: urls[Math.floor(random() * urls.length)],
      ts: new Date(options.nowMs - Math.floor(random() * 1_000) - late).toISOString(),
      latency_ms: Math.round(20 + random() * 400),
      // Only purchases carry a value: the example's schema has `value: { type: number }`, so a null is invalid.
      ...(type === "purchase" ? { value: Math.round(random() * 20_000) / 100 } : {}),
    };
    const message = {
      partition: Number(user.slice(1)) % options.partitions,
      key: user,
      value: JSON.stringify(event),
    };
    out.push(message);
    if (random() < 0.02) out.push(message);
  }
  return out;
}

export interface SteadyTraffic {
  /** Messages sent so far. */
  sent(): number;
  /** Stops after the batch in flight; resolves with the messages sent. */
  stop(): Promise<number>;
}

/** Produces `perSecond` events a second to `topic` until stopped. */
export async function startSteadyTraffic(
  topic: string,
  options: { readonly perSecond: number; readonly partitions: number; readonly runId: string },
): Promise<SteadyTraffic> {
  const producer = new kafkajs.Kafka({
    brokers: kafkaBrokers,
    clientId: "tally-demo-traffic",
    logLevel: kafkajs.logLevel.NOTHING,
  }).producer({ idempotent: true, maxInFlightRequests: 1 });
  await producer.connect();
  let sent = 0;
  let next = 0;
  let stopping = false;
  const loop = (async () => {
    while (!stopping) {
      const tick = Date.now();
      const batch = clickBatch({
        runId: options.runId,
        first: next,
        count: options.perSecond,
        nowMs: tick,
        partitions: options.partitions,
        random: Math.random,
      });
      next += options.perSecond;
      try {
        await producer.send({ topic, acks: -1, messages: batch });
        sent += batch.length;
      } catch {
        // A broker hiccup: this second's batch is skipped, the next one tries again.
      }
      const wait = tick + 1_000 - Date.now();
      if (wait > 0 && !stopping) await new Promise((resolve) => setTimeout(resolve, wait));
    }
  })();
  return {
    sent: () => sent,
    stop: async () => {
      stopping = true;
      await loop;
      await producer.disconnect();
      return sent;
    },
  };
}
