/**
 * The CRD's CEL rules (`x-kubernetes-validations`) evaluated over an object as the apiserver evaluates
 * them, with the CEL evaluator the runtime uses: each rule runs with `self` bound to its node's value,
 * for every node the object has. Unit tests use it to show what `kubectl apply` refuses without an
 * apiserver; the integration tests show the apiserver agrees.
 */
import { type CelInput, isCelError, run } from "@bufbuild/cel";
import type { JsonSchema } from "../../api/v1alpha1/structural-schema.js";

interface Rule {
  readonly rule: string;
  readonly message: string;
  readonly fieldPath?: string;
}

/** Every rule that does not hold, as `path: message` (the path with the rule's fieldPath, as kubectl prints it). */
export function celFailures(schema: JsonSchema, value: unknown, path: string): string[] {
  if (value === undefined || value === null) return [];
  const failures: string[] = [];
  for (const rule of (schema["x-kubernetes-validations"] as Rule[] | undefined) ?? []) {
    const result = run(rule.rule, { self: value as CelInput });
    if (isCelError(result))
      throw new Error(`${path}: rule ${rule.rule} failed to evaluate: ${result.message}`);
    if (result !== true) failures.push(`${path}${rule.fieldPath ?? ""}: ${rule.message}`);
  }
  const properties = schema.properties as Record<string, JsonSchema> | undefined;
  if (properties !== undefined && typeof value === "object") {
    for (const [name, child] of Object.entries(properties))
      failures.push(...celFailures(child, (value as Record<string, unknown>)[name], `${path}.${name}`));
  }
  if (schema.items !== undefined && Array.isArray(value)) {
    value.forEach((item, i) => {
      failures.push(...celFailures(schema.items as JsonSchema, item, `${path}[${i}]`));
    });
  }
  return failures;
}
