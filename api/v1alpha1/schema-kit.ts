/**
 * Builders shared by the three resource schemas. Every schema here is the one source of the CRD
 * YAML (via `structural-schema.ts`), the TypeScript types (`Static<>`) and the operator's ajv
 * validators, so a rule written once holds at `kubectl apply`, in the operator and in the runtime.
 */
import { type Static, type TSchema, Type } from "@sinclair/typebox";

/** A CEL rule for `x-kubernetes-validations`; the message names the field and what is expected. */
export interface CelRule {
  readonly rule: string;
  readonly message: string;
  readonly fieldPath?: string;
  readonly reason?:
    | "FieldValueInvalid"
    | "FieldValueForbidden"
    | "FieldValueRequired"
    | "FieldValueDuplicate";
}

export function celRules(...rules: CelRule[]): { "x-kubernetes-validations": CelRule[] } {
  return { "x-kubernetes-validations": rules };
}

/**
 * A name that may become a ClickHouse identifier (column, table, view) or a Redis key part:
 * letters, digits and underscores, not starting with a digit. Anything else is refused at apply,
 * so no CR string needs escaping to become SQL; quoting still happens in one function.
 */
export const identifierPattern = "^[A-Za-z_][A-Za-z0-9_]*$";
export const identifierMaxLength = 63;

export function Identifier(description: string, options: { default?: string } = {}) {
  return Type.String({
    description,
    pattern: identifierPattern,
    minLength: 1,
    maxLength: identifierMaxLength,
    ...options,
  });
}

/** A dotted path into an event (`user.id`); each segment is an identifier. */
const fieldPathPattern = "^[A-Za-z_][A-Za-z0-9_]*(\\.[A-Za-z_][A-Za-z0-9_]*)*$";

export function FieldPath(description: string) {
  return Type.String({ description, pattern: fieldPathPattern, minLength: 1, maxLength: 253 });
}

/**
 * A Go duration (`500ms`, `30s`, `5m`, `1h30m`): the syntax CEL's `duration()` parses, so
 * cross-field rules (a slide divides its size) can compare durations at `kubectl apply`.
 */
const durationPattern = "^([0-9]+(ms|s|m|h))+$";

export function Duration(description: string, options: { default?: string } = {}) {
  return Type.String({ description, pattern: durationPattern, maxLength: 32, ...options });
}

/** A duration that must be more than zero (a window of size 0 would never hold an event). */
export function PositiveDuration(description: string) {
  return Type.String({
    description,
    pattern: durationPattern,
    maxLength: 32,
    ...celRules({ rule: "duration(self) > duration('0s')", message: "must be a positive duration" }),
  });
}

/** A Kubernetes object name (DNS-1123 subdomain). */
export function ObjectName(description: string) {
  return Type.String({
    description,
    pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
    minLength: 1,
    maxLength: 253,
  });
}

export function SecretKeyRef(description: string) {
  return Type.Object(
    {
      name: ObjectName("Name of the Secret in the resource's namespace."),
      key: Type.String({ description: "Key within the Secret.", minLength: 1, maxLength: 253 }),
    },
    { description },
  );
}

export function SecretRef(description: string) {
  return Type.Object(
    { name: ObjectName("Name of the Secret in the resource's namespace.") },
    { description },
  );
}

export function ConfigMapKeyRef(description: string) {
  return Type.Object(
    {
      name: ObjectName("Name of the ConfigMap in the resource's namespace."),
      key: Type.String({ description: "Key within the ConfigMap.", minLength: 1, maxLength: 253 }),
    },
    { description },
  );
}

/** A CEL expression evaluated on events by the runtime; compiled by the operator before it is accepted. */
export function CelExpression(description: string) {
  return Type.String({ description, minLength: 1, maxLength: 4096 });
}

/** Free-form object kept as written (e.g. an inline JSON Schema); pruning would destroy it. */
export function FreeForm(description: string) {
  return Type.Unsafe<Record<string, unknown>>({
    type: "object",
    description,
    "x-kubernetes-preserve-unknown-fields": true,
  });
}

/** metav1.Condition, as Kubernetes API conventions define it. */
const Condition = Type.Object(
  {
    type: Type.String({
      description: "Condition type: Ready, Progressing, Degraded, Scaling.",
      maxLength: 316,
    }),
    status: Type.Union([Type.Literal("True"), Type.Literal("False"), Type.Literal("Unknown")], {
      description: "True, False or Unknown.",
    }),
    observedGeneration: Type.Optional(
      Type.Integer({ description: "The .metadata.generation the condition was computed from.", minimum: 0 }),
    ),
    lastTransitionTime: Type.String({
      description: "When the condition last changed status.",
      format: "date-time",
    }),
    reason: Type.String({
      description: "PascalCase reason for the last transition.",
      pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$",
      maxLength: 1024,
    }),
    message: Type.String({ description: "Human-readable explanation.", maxLength: 32768 }),
  },
  { description: "A condition of the resource, per Kubernetes API conventions." },
);
/** The one Condition type: the operator's condition helpers (operator/core/conditions.ts) use it too. */
export type Condition = Static<typeof Condition>;

export function Conditions() {
  return Type.Optional(
    Type.Array(Condition, {
      description: "Current conditions; Ready summarises the others.",
      maxItems: 16,
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["type"],
    }),
  );
}

export function ObservedGeneration() {
  return Type.Optional(
    Type.Integer({ description: "The .metadata.generation this status describes.", minimum: 0 }),
  );
}

export type { TSchema };
