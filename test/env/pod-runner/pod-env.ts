import type { V1Container, V1EnvVar, V1Pod } from "@kubernetes/client-node";

/**
 * What the kubelet does to a container's environment and arguments before it starts it, for the
 * parts Tally's pods use: `env[].value` with `$(VAR)` references, `valueFrom` Secret and
 * ConfigMap keys (honouring `optional`), the downward API `fieldRef`s, and `envFrom`. Pure: the
 * Secrets and ConfigMaps are looked up beforehand (see `referencedObjects`).
 */

export interface ObjectRef {
  readonly kind: "Secret" | "ConfigMap";
  readonly name: string;
}

/** The decoded data of a Secret or ConfigMap, or undefined when it does not exist. */
export type ObjectLookup = (ref: ObjectRef) => Readonly<Record<string, string>> | undefined;

/** Values the pod-runner substitutes for what a kubelet would know about the node. */
interface HostFacts {
  /** status.podIP / status.hostIP: the processes all run on this machine. */
  readonly ip: string;
}

type Resolution =
  | { readonly ok: true; readonly env: Record<string, string>; readonly args: string[] }
  | { readonly ok: false; readonly reason: string };

export function objectKey(ref: ObjectRef): string {
  return `${ref.kind}/${ref.name}`;
}

/** The Secrets and ConfigMaps (in the pod's namespace) the container's environment reads. */
export function referencedObjects(container: V1Container): ObjectRef[] {
  const refs = new Map<string, ObjectRef>();
  const add = (kind: ObjectRef["kind"], name: string | undefined) => {
    if (name) refs.set(objectKey({ kind, name }), { kind, name });
  };
  for (const source of container.envFrom ?? []) {
    add("ConfigMap", source.configMapRef?.name);
    add("Secret", source.secretRef?.name);
  }
  for (const env of container.env ?? []) {
    add("ConfigMap", env.valueFrom?.configMapKeyRef?.name);
    add("Secret", env.valueFrom?.secretKeyRef?.name);
  }
  return [...refs.values()];
}

/**
 * Kubernetes' `$(VAR)` expansion: a defined variable is replaced, an undefined one is left as
 * written, `$$` is an escaped `$`, anything else after `$` is literal.
 */
export function expandVars(input: string, vars: ReadonlyMap<string, string>): string {
  let out = "";
  let i = 0;
  while (i < input.length) {
    const ch = input[i];
    if (ch !== "$" || i + 1 >= input.length) {
      out += ch;
      i += 1;
      continue;
    }
    const next = input[i + 1];
    if (next === "$") {
      out += "$";
      i += 2;
    } else if (next === "(") {
      const close = input.indexOf(")", i + 2);
      if (close === -1) {
        out += "$(";
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += vars.get(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += `$${next}`;
      i += 2;
    }
  }
  return out;
}

const envNamePattern = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;
const labelPath = /^metadata\.(labels|annotations)\['(.+)'\]$/;

/** The downward API fields a pod can put in an env var, as this machine answers them. */
export function fieldValue(pod: V1Pod, fieldPath: string, host: HostFacts): string | undefined {
  const keyed = fieldPath.match(labelPath);
  if (keyed) {
    const map = keyed[1] === "labels" ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[keyed[2] ?? ""] ?? "";
  }
  switch (fieldPath) {
    case "metadata.name":
      return pod.metadata?.name ?? "";
    case "metadata.namespace":
      return pod.metadata?.namespace ?? "";
    case "metadata.uid":
      return pod.metadata?.uid ?? "";
    case "spec.nodeName":
      return pod.spec?.nodeName ?? "";
    case "spec.serviceAccountName":
      return pod.spec?.serviceAccountName ?? "default";
    case "status.podIP":
    case "status.podIPs":
    case "status.hostIP":
    case "status.hostIPs":
      return host.ip;
    default:
      return undefined;
  }
}

function keyOf(
  env: V1EnvVar,
  kind: ObjectRef["kind"],
  selector: { name?: string; key: string; optional?: boolean },
  lookup: ObjectLookup,
): { value?: string; error?: string } {
  const name = selector.name ?? "";
  const data = lookup({ kind, name });
  if (data === undefined) {
    return selector.optional ? {} : { error: `${kind} "${name}" not found (env ${env.name})` };
  }
  const value = data[selector.key];
  if (value === undefined) {
    return selector.optional
      ? {}
      : { error: `key "${selector.key}" not in ${kind} "${name}" (env ${env.name})` };
  }
  return { value };
}

/**
 * The environment and arguments a container would start with. `ok: false` is what a kubelet
 * reports as CreateContainerConfigError (a required Secret, ConfigMap or key is missing): the
 * container does not start until it appears.
 */
export function resolveContainer(
  pod: V1Pod,
  container: V1Container,
  lookup: ObjectLookup,
  host: HostFacts,
): Resolution {
  const vars = new Map<string, string>();
  for (const source of container.envFrom ?? []) {
    const kind = source.configMapRef ? "ConfigMap" : "Secret";
    const ref = source.configMapRef ?? source.secretRef;
    if (!ref) continue;
    const data = lookup({ kind, name: ref.name ?? "" });
    if (data === undefined) {
      if (ref.optional) continue;
      return { ok: false, reason: `${kind} "${ref.name}" not found (envFrom)` };
    }
    for (const [key, value] of Object.entries(data)) {
      const name = `${source.prefix ?? ""}${key}`;
      // The kubelet skips keys that are not valid variable names (and emits an event).
      if (envNamePattern.test(name)) vars.set(name, value);
    }
  }
  for (const env of container.env ?? []) {
    const from = env.valueFrom;
    if (!from) {
      vars.set(env.name, expandVars(env.value ?? "", vars));
      continue;
    }
    let found: { value?: string; error?: string };
    if (from.secretKeyRef) {
      found = keyOf(env, "Secret", from.secretKeyRef, lookup);
    } else if (from.configMapKeyRef) {
      found = keyOf(env, "ConfigMap", from.configMapKeyRef, lookup);
    } else if (from.fieldRef) {
      const value = fieldValue(pod, from.fieldRef.fieldPath, host);
      found =
        value === undefined
          ? {
              error: `fieldRef ${from.fieldRef.fieldPath} is not supported by the pod-runner (env ${env.name})`,
            }
          : { value };
    } else {
      found = {
        error: `env ${env.name}: only value, secretKeyRef, configMapKeyRef and fieldRef are supported`,
      };
    }
    if (found.error !== undefined) return { ok: false, reason: found.error };
    if (found.value !== undefined) vars.set(env.name, found.value);
  }
  const args = (container.args ?? []).map((a) => expandVars(a, vars));
  return { ok: true, env: Object.fromEntries(vars), args };
}

/** The container that runs the component: the one named after it, else the first. */
export function mainContainer(pod: V1Pod, component: string): V1Container | undefined {
  const containers = pod.spec?.containers ?? [];
  return containers.find((c) => c.name === component) ?? containers[0];
}
