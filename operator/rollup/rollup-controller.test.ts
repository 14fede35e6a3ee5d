import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import type { RollupStatus } from "../../api/v1alpha1/rollup.js";
import type { KubeClient, KubeObject, ResourceType } from "../../lib/kube/kube-client.js";
import { checkServerVersion, type VersionCheck } from "../clickhouse/server-version.js";
import type { ReconcileOutcome } from "../core/work-queue.js";
import { type RollupSession, rollupControllerDefinition } from "./rollup-controller.js";

// The caller of decideMigration, with the API server and ClickHouse faked: what is checked here is
// that every session the controller opens is closed, whichever way the reconcile ends.

const examples = join(import.meta.dirname, "../../examples");
const manifests = (file: string): KubeObject[] =>
  parseAllDocuments(readFileSync(join(examples, file), "utf8")).map((d) => d.toJS() as KubeObject);
const pipeline = {
  ...manifests("clickstream-pipeline.yaml").find((m) => m.kind === "Pipeline"),
  status: { clickhouse: { table: "clickstream" } },
};
const rollup = manifests("clickstream-rollups.yaml").find((m) => m.metadata?.name === "clicks-per-minute");
const base64 = (text: string): string => Buffer.from(text).toString("base64");
const secret = {
  metadata: { name: "tally-clickhouse", namespace: "default" },
  data: { url: base64("http://127.0.0.1:1"), username: base64("default"), password: base64("") },
};

/** Just the reads and writes the rollup controller makes, over a few fixed objects. */
class FakeKube {
  readonly statuses: RollupStatus[] = [];
  constructor(private readonly objects: Record<string, KubeObject | undefined>) {}
  async find(type: ResourceType): Promise<KubeObject | undefined> {
    return structuredClone(this.objects[type.kind]);
  }
  async mergePatch(type: ResourceType, _ns: string, _name: string, patch: KubeObject): Promise<KubeObject> {
    const object = {
      ...this.objects[type.kind],
      metadata: { ...this.objects[type.kind]?.metadata, ...patch.metadata },
    };
    this.objects[type.kind] = object;
    return structuredClone(object);
  }
  async apply(_type: ResourceType, object: { status: RollupStatus }): Promise<KubeObject> {
    this.statuses.push(object.status);
    return object as KubeObject;
  }
}

/** Counts opens and closes; `version` or `failing` decide how far a reconcile gets. */
class FakeSessions {
  opened = 0;
  closed = 0;
  readonly statements: string[] = [];
  constructor(private readonly behaviour: { version?: VersionCheck; failing?: "checkVersion" | "execute" }) {}
  readonly open = (): RollupSession => {
    this.opened++;
    return {
      checkVersion: async () => {
        if (this.behaviour.failing === "checkVersion") throw new Error("connect ECONNREFUSED 127.0.0.1:1");
        return this.behaviour.version ?? checkServerVersion("25.3.2.1");
      },
      execute: async (statement) => {
        if (this.behaviour.failing === "execute") throw new Error("Code: 241. MEMORY_LIMIT_EXCEEDED");
        this.statements.push(statement);
      },
      activePartitions: async () => [],
      close: async () => {
        this.closed++;
      },
    };
  };
}

async function reconcile(
  sessions: FakeSessions,
  objects: Record<string, KubeObject | undefined> = {},
): Promise<{ outcome: ReconcileOutcome | Error; kube: FakeKube }> {
  const kube = new FakeKube({ Rollup: rollup, Pipeline: pipeline, Secret: secret, ...objects });
  const controller = rollupControllerDefinition({
    client: kube as unknown as KubeClient,
    recorder: { record: async () => undefined },
    now: () => new Date(),
    openClickhouse: sessions.open,
  });
  const outcome = await controller
    .reconcile("default/clicks-per-minute", undefined)
    .catch((error: Error) => error);
  return { outcome, kube };
}

const readyReason = (kube: FakeKube): string | undefined =>
  kube.statuses.at(-1)?.conditions?.find((c) => c.type === "Ready")?.reason;

describe("rollup controller: ClickHouse sessions", () => {
  it("closes the session when the server version is unsupported", async () => {
    const sessions = new FakeSessions({ version: checkServerVersion("21.8.1") });
    const { outcome, kube } = await reconcile(sessions);
    expect(outcome).toEqual({ kind: "requeueAfter", ms: 15_000 });
    expect(readyReason(kube)).toBe("ClickHouseVersionUnsupported");
    expect({ opened: sessions.opened, closed: sessions.closed }).toEqual({ opened: 1, closed: 1 });
  });

  it("closes the session when the version check fails", async () => {
    const sessions = new FakeSessions({ failing: "checkVersion" });
    const { outcome, kube } = await reconcile(sessions);
    expect(outcome).toEqual({ kind: "requeueAfter", ms: 15_000 });
    expect(readyReason(kube)).toBe("ClickHouseUnavailable");
    expect({ opened: sessions.opened, closed: sessions.closed }).toEqual({ opened: 1, closed: 1 });
  });

  it("opens none when the connection Secret is missing", async () => {
    const sessions = new FakeSessions({});
    const { outcome, kube } = await reconcile(sessions, { Secret: undefined });
    expect(outcome).toEqual({ kind: "requeueAfter", ms: 15_000 });
    expect(readyReason(kube)).toBe("SecretNotFound");
    expect({ opened: sessions.opened, closed: sessions.closed }).toEqual({ opened: 0, closed: 0 });
  });

  it("closes the session after creating a version", async () => {
    const sessions = new FakeSessions({});
    const { outcome, kube } = await reconcile(sessions);
    expect(outcome).toMatchObject({ kind: "requeueAfter" });
    // Any leftover of version 1 (view first) goes before version 1 is created with this cut-over.
    expect(sessions.statements.map((s) => s.split(" ").slice(0, 2).join(" "))).toEqual([
      "DROP VIEW",
      "DROP TABLE",
      "DROP TABLE",
      "CREATE TABLE",
      "CREATE TABLE",
      "CREATE MATERIALIZED",
    ]);
    expect(sessions.statements[0]).toContain("rollup_default__clicks_per_minute_v1_mv");
    expect(kube.statuses.at(-1)?.migration).toMatchObject({ version: 1, phase: "Created" });
    expect({ opened: sessions.opened, closed: sessions.closed }).toEqual({ opened: 1, closed: 1 });
  });

  it("closes the session when a statement fails mid-migration", async () => {
    const sessions = new FakeSessions({ failing: "execute" });
    const { outcome } = await reconcile(sessions);
    expect(outcome).toBeInstanceOf(Error);
    expect({ opened: sessions.opened, closed: sessions.closed }).toEqual({ opened: 1, closed: 1 });
  });
});
