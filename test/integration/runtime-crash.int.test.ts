import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseCommitMetadata } from "../../contracts/kafka/commit-metadata.js";
import {
  checkGroundTruth,
  clickhouseClient,
  createTables,
  createTopics,
  kafkaClient,
  produceGradually,
  type RuntimeTestNames,
  runtimeScenario,
  WorkerProcess,
  waitForCommitted,
  writeManifest,
} from "../support/runtime-harness.js";

// kill -9 of a worker mid-batch, at each point of a batch's life, then a fresh worker: the ground truth
// must hold (nothing lost, nothing counted twice). The crash is injected by the worker itself
// (TALLY_TEST_CRASH_AT, SIGKILL on itself) so it lands exactly where each case says; a last case kills it
// from outside at an arbitrary moment.
const clickhouse = clickhouseClient();
const workers: WorkerProcess[] = [];
afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await clickhouse.close();
});

async function committedState(names: RuntimeTestNames): Promise<string[]> {
  const admin = kafkaClient().admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: names.consumerGroup, topics: [names.topic] });
    return (offsets?.partitions ?? []).map((p) => {
      const meta = parseCommitMetadata(p.metadata, "test");
      return meta?.inflight === undefined
        ? `${p.offset}`
        : `${p.offset}:inflight=${meta.inflight.first}-${meta.inflight.last}`;
    });
  } finally {
    await admin.disconnect();
  }
}

type Crash = (
  names: RuntimeTestNames,
  configPath: string,
  stream: () => Promise<void>,
) => Promise<{ readonly worker: WorkerProcess; readonly produced: Promise<void> }>;

async function scenario(label: string, crash: Crash) {
  // Batches are cut by time only (maxRows out of reach), so their boundaries depend on timing: a restart
  // that did not re-read the in-flight range exactly would cut differently and count rows twice.
  const { names, manifest, plan, produced, expected } = runtimeScenario(
    label,
    { seed: 23, partitions: 3, perPartition: 2_000 },
    (spec) => {
      spec.sink.clickhouse.batch = { maxRows: 100_000, maxDelay: "150ms" };
    },
  );
  await createTopics(names, 3);
  const rollup = await createTables(clickhouse, plan, names);
  const configPath = writeManifest(manifest);

  // The worker runs while the stream arrives, so its batches are cut by time at arbitrary offsets; the
  // restarted worker reads the rest as a backlog, in different chunks.
  // crash() starts the stream once its worker has joined the group.
  const crashing = crash(names, configPath, () => produceGradually(names.topic, produced, 40, 100));
  const { worker: crashed, produced: streamed } = await crashing;
  await streamed;
  const exit = await Promise.race([
    crashed.exited,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`the worker did not crash:\n${crashed.tail(40)}`)), 60_000),
    ),
  ]);
  expect(exit.signal, crashed.tail()).toBe("SIGKILL");
  const before = await committedState(names);

  const restarted = WorkerProcess.start(configPath, `${label}-restarted`);
  workers.push(restarted);
  try {
    await waitForCommitted(
      names,
      produced.map((p) => p.length),
    );
    await checkGroundTruth({ names, plan, clickhouse, rollup, produced, expected, checkRedis: true });
  } catch (error) {
    const logs = Object.entries({ crashed, restarted }).map(([role, worker]) => {
      const path = join(tmpdir(), `${label}-${role}.log`);
      writeFileSync(path, worker.lines.join("\n"));
      return path;
    });
    throw new Error(
      `${String(error)}\nworker logs: ${logs.join(", ")}\nrestarted worker:\n${restarted.tail(60)}`,
    );
  }
  expect(await restarted.stop()).toEqual({ code: 0, signal: null });
  return { before, restarted };
}

describe("runtime: kill -9 mid-batch", () => {
  it.each([
    "before-insert",
    "after-raw-insert",
    "after-insert",
    "before-dead-letter-commit",
    "after-dead-letters",
  ] as const)(
    "crash %s: the in-flight batch is re-read exactly, inserted once, its dead letters written once",
    async (point) => {
      const { before, restarted } = await scenario(point, async (_names, configPath, stream) => {
        const w = WorkerProcess.start(configPath, `${point}-crashing`, {
          TALLY_TEST_CRASH_AT: point,
          // The dead-letter points count batches with letters, which are fewer.
          TALLY_TEST_CRASH_AFTER_BATCHES: point.includes("dead-letter") ? "3" : "8",
        });
        workers.push(w);
        await w.waitForLog(/"msg":"assigned partitions/);
        return { worker: w, produced: stream() };
      });
      // The crash left a batch in flight on some partition, and the new worker replayed exactly that range.
      const inflight = before.filter((s) => s.includes("inflight="));
      expect(inflight.length, before.join(" ")).toBeGreaterThan(0);
      const replays = restarted.lines.filter(
        (l) => l.includes('"msg":"rebuilt partition state from the raw table"') && l.includes('"inflight":{'),
      );
      expect(replays.length, restarted.tail()).toBe(inflight.length);
      // Letters committed before the crash are skipped on replay (an open transaction is aborted instead).
      if (point === "after-dead-letters") {
        const skips = restarted.lines.filter((l) => l.includes("skipped dead letters an earlier attempt"));
        expect(skips.length, restarted.tail()).toBeGreaterThan(0);
      }
    },
  );

  it("crash from outside at an arbitrary moment (SIGKILL while batches are flowing)", async () => {
    await scenario("kill9", async (_names, configPath, stream) => {
      const w = WorkerProcess.start(configPath, "kill9-crashing");
      workers.push(w);
      // Kill once the worker is part-way through the stream.
      await w.waitForLog(/"msg":"assigned partitions/);
      const produced = stream();
      for (let i = 0; i < 200 && (await w.metric("tally_runtime_events_out_total")) < 1_500; i++) {
        await new Promise((r) => setTimeout(r, 20));
      }
      w.signal("SIGKILL");
      return { worker: w, produced };
    });
  });
});
