import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { e2eTarget } from "../e2e/target.js";
import { stackConfig } from "../env/config.js";

export interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; [key: string]: unknown };
  spec?: Record<string, unknown>;
  [key: string]: unknown;
}

/** The manifests of one examples/ file, moved to a namespace (and a ClickHouse database of its own). */
export function exampleManifests(file: string, namespace: string, database?: string): Manifest[] {
  const text = readFileSync(join(stackConfig.repoRoot, "examples", file), "utf8");
  return parseAllDocuments(text).map((doc) => {
    const manifest = doc.toJS() as Manifest;
    manifest.metadata.namespace = namespace;
    const sink = (manifest.spec?.sink as { clickhouse?: { database?: string } } | undefined)?.clickhouse;
    if (database !== undefined && sink !== undefined) sink.database = database;
    // The examples name the stack's default addresses; point them at the services as the pods reach them
    // (the stack actually running, or the kind cluster's in-cluster Services).
    const { kafkaBrokers, clickhouseUrl, redisUrl, alertmanagerUrl } = e2eTarget.cluster;
    const kafka = (manifest.spec?.source as { kafka?: { brokers?: string[] } } | undefined)?.kafka;
    if (kafka?.brokers !== undefined) kafka.brokers = [...kafkaBrokers];
    const stringData = manifest.stringData as { url?: string } | undefined;
    if (manifest.kind === "Secret" && stringData?.url !== undefined) {
      stringData.url = stringData.url.startsWith("redis:") ? redisUrl : clickhouseUrl;
    }
    const notify = (manifest.spec?.notify as { type?: string; url?: string }[] | undefined) ?? [];
    for (const channel of notify) if (channel.type === "alertmanager") channel.url = alertmanagerUrl;
    return manifest;
  });
}

export function asList(manifests: readonly Manifest[]): string {
  return JSON.stringify({ apiVersion: "v1", kind: "List", items: manifests });
}

/** A ClickHouse database name for a test namespace. */
export function databaseFor(namespace: string): string {
  return namespace.replace(/-/g, "_");
}
