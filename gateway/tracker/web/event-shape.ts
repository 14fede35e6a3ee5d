/**
 * What the tracker sends, as the pipeline names it (pure). A tracked event has the standard parts every
 * event gets (an id for the pipeline's dedup, the user, the session, its type, the page, the time) and
 * the caller's properties; `FieldMapping` says under which JSON key each part goes, so a pipeline with
 * other field names needs no code change. The default matches examples/clickstream-pipeline.yaml.
 */

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type Properties = Readonly<Record<string, JsonValue>>;

export interface TrackedEvent {
  readonly eventId: string;
  readonly userId: string;
  readonly sessionId: string;
  readonly type: string;
  readonly url: string;
  /** ISO 8601 UTC, milliseconds: the `date-time` format JSON Schemas check. */
  readonly ts: string;
  readonly properties: Properties;
}

/** The JSON key of each standard part; null leaves the part out. */
export interface FieldMapping {
  readonly eventId: string | null;
  readonly userId: string | null;
  readonly sessionId: string | null;
  readonly type: string | null;
  readonly url: string | null;
  readonly ts: string | null;
  /** The key the properties are nested under; null: merged into the event's top level. */
  readonly properties: string | null;
}

export const defaultFieldMapping: FieldMapping = {
  eventId: "event_id",
  userId: "user_id",
  sessionId: "session_id",
  type: "type",
  url: "url",
  ts: "ts",
  properties: null,
};

const standardParts = ["eventId", "userId", "sessionId", "type", "url", "ts"] as const;

/** The JSON object sent for `event`. A property never overwrites a standard part (the dedup id least of all). */
export function shapeEvent(event: TrackedEvent, mapping: FieldMapping): Record<string, JsonValue> {
  const shaped: Record<string, JsonValue> =
    mapping.properties === null ? { ...event.properties } : { [mapping.properties]: { ...event.properties } };
  for (const part of standardParts) {
    const key = mapping[part];
    if (key !== null) shaped[key] = event[part];
  }
  return shaped;
}

/**
 * The properties of a marked element: every `data-tally-<name>` attribute but `data-tally-event`, the
 * name's dashes turned to underscores (`data-tally-product-id` → `product_id`). Attribute values are
 * text; one that is a plain decimal number is sent as a number, since numeric fields (a price) are
 * usually typed as numbers in the pipeline's schema.
 */
export function propertiesOfAttributes(
  attributes: Iterable<{ readonly name: string; readonly value: string }>,
): Record<string, JsonValue> {
  const properties: Record<string, JsonValue> = {};
  for (const { name, value } of attributes) {
    const lower = name.toLowerCase();
    if (!lower.startsWith("data-tally-") || lower === "data-tally-event") continue;
    const key = lower.slice("data-tally-".length).replace(/-/g, "_");
    if (key === "") continue;
    properties[key] = /^-?(0|[1-9]\d*)(\.\d+)?$/.test(value) ? Number(value) : value;
  }
  return properties;
}

/** The mapping with the caller's overrides; errors name the key. */
export function fieldMappingOf(overrides: Partial<FieldMapping> | undefined): FieldMapping {
  const mapping = { ...defaultFieldMapping, ...overrides };
  for (const [part, key] of Object.entries(mapping))
    if (key !== null && (typeof key !== "string" || key === ""))
      throw new Error(`tally.init: fields.${part} must be a non-empty string or null`);
  return mapping;
}
