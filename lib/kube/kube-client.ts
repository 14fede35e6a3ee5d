/**
 * The one wrapper around the Kubernetes API: credentials and TLS come from a kubeconfig (or the
 * in-cluster service account) through @kubernetes/client-node; requests are plain HTTPS so every
 * path — subresources, server-side apply, streaming watches — goes through the same typed code.
 * Nothing outside this file sees an untyped response or `metadata!.name`.
 */

import { request as httpRequest } from "node:http";
import { request as httpsRequest, type RequestOptions } from "node:https";
import { KubeConfig } from "@kubernetes/client-node";

/** metav1.ObjectMeta: the fields Tally reads or writes. */
export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: { apiVersion: string; kind: string; name: string; uid: string; controller?: boolean }[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
}

/** Any object with the identifying metadata, including client-node's generated V1 types. */
export interface Applicable {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; namespace?: string; annotations?: { [key: string]: string } };
}

interface KubeList<T> {
  metadata: { resourceVersion?: string; continue?: string };
  items: T[];
}

export type WatchEvent<T> =
  | { type: "ADDED" | "MODIFIED" | "DELETED"; object: T }
  | { type: "BOOKMARK"; object: KubeObject }
  | { type: "ERROR"; object: { code?: number; reason?: string; message?: string } };

/** An API error with what was asked and what the server said. */
export class KubeApiError extends Error {
  override readonly name = "KubeApiError";
  constructor(
    readonly status: number,
    readonly reason: string,
    readonly method: string,
    readonly path: string,
    message: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${message}`);
  }
}

export function isNotFound(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 404;
}
export function isForbidden(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 403;
}
export function isConflict(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 409;
}
export function isGone(error: unknown): boolean {
  return error instanceof KubeApiError && error.status === 410;
}

/** Where a kind lives in the API; only the kinds Tally touches. */
export interface ResourceType {
  readonly group: string; // "" for core
  readonly version: string;
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

export const resourceTypes = {
  configMap: { group: "", version: "v1", plural: "configmaps", kind: "ConfigMap", namespaced: true },
  secret: { group: "", version: "v1", plural: "secrets", kind: "Secret", namespaced: true },
  service: { group: "", version: "v1", plural: "services", kind: "Service", namespaced: true },
  pod: { group: "", version: "v1", plural: "pods", kind: "Pod", namespaced: true },
  namespace: { group: "", version: "v1", plural: "namespaces", kind: "Namespace", namespaced: false },
  event: { group: "events.k8s.io", version: "v1", plural: "events", kind: "Event", namespaced: true },
  deployment: { group: "apps", version: "v1", plural: "deployments", kind: "Deployment", namespaced: true },
  podDisruptionBudget: {
    group: "policy",
    version: "v1",
    plural: "poddisruptionbudgets",
    kind: "PodDisruptionBudget",
    namespaced: true,
  },
  lease: { group: "coordination.k8s.io", version: "v1", plural: "leases", kind: "Lease", namespaced: true },
  horizontalPodAutoscaler: {
    group: "autoscaling",
    version: "v2",
    plural: "horizontalpodautoscalers",
    kind: "HorizontalPodAutoscaler",
    namespaced: true,
  },
  customResourceDefinition: {
    group: "apiextensions.k8s.io",
    version: "v1",
    plural: "customresourcedefinitions",
    kind: "CustomResourceDefinition",
    namespaced: false,
  },
  pipeline: {
    group: "tally.dev",
    version: "v1alpha1",
    plural: "pipelines",
    kind: "Pipeline",
    namespaced: true,
  },
  rollup: { group: "tally.dev", version: "v1alpha1", plural: "rollups", kind: "Rollup", namespaced: true },
  alertRule: {
    group: "tally.dev",
    version: "v1alpha1",
    plural: "alertrules",
    kind: "AlertRule",
    namespaced: true,
  },
  dashboard: {
    group: "tally.dev",
    version: "v1alpha1",
    plural: "dashboards",
    kind: "Dashboard",
    namespaced: true,
  },
} as const satisfies Record<string, ResourceType>;

function resourcePath(type: ResourceType, namespace?: string, name?: string, subresource?: string): string {
  const base = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const ns = type.namespaced && namespace !== undefined ? `/namespaces/${encodeURIComponent(namespace)}` : "";
  const item = name === undefined ? "" : `/${encodeURIComponent(name)}`;
  const sub = subresource === undefined ? "" : `/${subresource}`;
  return `${base}${ns}/${type.plural}${item}${sub}`;
}

type Query = Record<string, string | number | boolean | undefined>;

interface RequestSpec {
  readonly method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

export class KubeClient {
  private readonly server: URL;

  constructor(private readonly config: KubeConfig) {
    const cluster = config.getCurrentCluster();
    if (cluster === null) throw new Error("kubeconfig has no current cluster");
    this.server = new URL(cluster.server);
  }

  /** From KUBECONFIG / ~/.kube/config, or the in-cluster service account. */
  static fromEnvironment(kubeconfigPath?: string): KubeClient {
    const config = new KubeConfig();
    if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
    else config.loadFromDefault();
    return new KubeClient(config);
  }

  get<T extends Applicable>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    subresource?: string,
  ): Promise<T> {
    return this.json<T>({ method: "GET", path: resourcePath(type, namespace, name, subresource) });
  }

  /** GET that answers undefined for 404. */
  async find<T extends Applicable>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    try {
      return await this.get<T>(type, namespace, name);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  list<T extends KubeObject>(
    type: ResourceType,
    namespace?: string,
    query: Query = {},
  ): Promise<KubeList<T>> {
    return this.json<KubeList<T>>({ method: "GET", path: resourcePath(type, namespace), query });
  }

  /** Server-side apply: the object as this field manager wants it. */
  apply<T extends Applicable>(
    type: ResourceType,
    object: T,
    fieldManager: string,
    subresource?: string,
  ): Promise<T> {
    const name = object.metadata?.name;
    if (name === undefined) throw new Error(`apply ${type.kind}: object has no metadata.name`);
    return this.json<T>({
      method: "PATCH",
      path: resourcePath(type, object.metadata?.namespace, name, subresource),
      query: { fieldManager, force: true },
      body: object,
      contentType: "application/apply-patch+yaml",
    });
  }

  /** JSON merge patch, for small edits such as finalizers (with resourceVersion for optimistic locking). */
  mergePatch<T extends Applicable>(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    patch: unknown,
    subresource?: string,
  ): Promise<T> {
    return this.json<T>({
      method: "PATCH",
      path: resourcePath(type, namespace, name, subresource),
      body: patch,
      contentType: "application/merge-patch+json",
    });
  }

  create<T extends Applicable>(type: ResourceType, object: T): Promise<T> {
    return this.json<T>({
      method: "POST",
      path: resourcePath(type, object.metadata?.namespace),
      body: object,
    });
  }

  replace<T extends Applicable>(type: ResourceType, object: T, subresource?: string): Promise<T> {
    const name = object.metadata?.name;
    if (name === undefined) throw new Error(`replace ${type.kind}: object has no metadata.name`);
    return this.json<T>({
      method: "PUT",
      path: resourcePath(type, object.metadata?.namespace, name, subresource),
      body: object,
    });
  }

  /** Deletes; absent objects are fine (answers false). */
  async delete(
    type: ResourceType,
    namespace: string | undefined,
    name: string,
    propagationPolicy: "Foreground" | "Background" | "Orphan" = "Background",
  ): Promise<boolean> {
    try {
      await this.json({
        method: "DELETE",
        path: resourcePath(type, namespace, name),
        body: { propagationPolicy },
      });
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }

  /**
   * Streams watch events until the server closes the stream, the signal aborts, or an error;
   * resolves when the stream ends (the informer then resumes from the last resourceVersion).
   */
  async watch<T extends KubeObject>(
    type: ResourceType,
    namespace: string | undefined,
    query: Query,
    onEvent: (event: WatchEvent<T>) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.send({
      method: "GET",
      path: resourcePath(type, namespace),
      query: { ...query, watch: true, allowWatchBookmarks: true },
      signal,
    });
    if (response.statusCode !== 200) {
      const text = await readAll(response.stream);
      throw errorFrom(response.statusCode, "GET", resourcePath(type, namespace), text);
    }
    let buffer = "";
    await new Promise<void>((resolve, reject) => {
      response.stream.setEncoding("utf8");
      response.stream.on("data", (chunk: string) => {
        buffer += chunk;
        let newline = buffer.indexOf("\n");
        while (newline >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (line !== "") onEvent(JSON.parse(line) as WatchEvent<T>);
          newline = buffer.indexOf("\n");
        }
      });
      response.stream.on("end", resolve);
      response.stream.on("close", resolve);
      response.stream.on("error", (error: Error) => (signal.aborted ? resolve() : reject(error)));
    });
  }

  private async json<T>(spec: RequestSpec): Promise<T> {
    const response = await this.send(spec);
    const text = await readAll(response.stream);
    if (response.statusCode < 200 || response.statusCode >= 300)
      throw errorFrom(response.statusCode, spec.method, spec.path, text);
    return (text === "" ? {} : JSON.parse(text)) as T;
  }

  private async send(spec: RequestSpec): Promise<{
    statusCode: number;
    stream: NodeJS.ReadableStream & { setEncoding(e: BufferEncoding): void };
  }> {
    const url = new URL(spec.path, this.server);
    for (const [key, value] of Object.entries(spec.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const options: RequestOptions = {
      method: spec.method,
      hostname: url.hostname,
      port: url.port,
      path: `${url.pathname}${url.search}`,
      headers: { accept: "application/json" },
      signal: spec.signal,
    };
    await this.config.applyToHTTPSOptions(options);
    const body = spec.body === undefined ? undefined : JSON.stringify(spec.body);
    if (body !== undefined) {
      options.headers = {
        ...options.headers,
        "content-type": spec.contentType ?? "application/json",
        "content-length": Buffer.byteLength(body),
      };
    }
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    return new Promise((resolve, reject) => {
      const req = send(options, (res) => resolve({ statusCode: res.statusCode ?? 0, stream: res }));
      req.on("error", reject);
      if (body !== undefined) req.write(body);
      req.end();
    });
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function errorFrom(status: number, method: string, path: string, text: string): KubeApiError {
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    return new KubeApiError(status, parsed.reason ?? "Unknown", method, path, parsed.message ?? text);
  } catch {
    return new KubeApiError(status, "Unknown", method, path, text.slice(0, 500));
  }
}
