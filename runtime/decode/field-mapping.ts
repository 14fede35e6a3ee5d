/**
 * Maps a decoded event onto the Pipeline's declared `fields`: each field is read at its dotted `path`
 * (default: its name) and coerced to its column type. Compiled once per pipeline.
 *
 * Fields that a later stage fills (an enrichment's fields, a `set` transform's field) may be missing
 * here; `completeRow` checks them after those stages ran.
 */
import { type Coercer, coercerFor, Invalid } from "./coerce.js";
import { DecodeFailure } from "./decode-failure.js";
import type { FieldDef, Row, RowValue } from "./row.js";

interface FieldSpec extends FieldDef {
  /** Dotted path in the decoded event; defaults to the name. */
  readonly path?: string;
}

interface CompiledField {
  readonly name: string;
  readonly segments: readonly string[];
  readonly coerce: Coercer;
  readonly nullable: boolean;
  /** Filled by a later stage: may be absent after mapping. */
  readonly deferred: boolean;
}

export interface FieldMapper {
  readonly fields: readonly FieldDef[];
  /** The row of declared fields found in `decoded`, or why one of them is unusable. */
  map(decoded: unknown): Row | DecodeFailure;
  /** Coerces a value computed by a later stage (enrichment, `set`) for `field`. */
  coerce(field: string, value: unknown): RowValue | DecodeFailure;
  /** After every stage ran: missing nullable fields become null, a missing required one is a failure. */
  complete(row: Row): Row | DecodeFailure;
}

/** Own, enumerable-or-not properties only: `__proto__` or `constructor` in a path must not reach prototypes. */
function readPath(decoded: unknown, segments: readonly string[]): unknown {
  let current = decoded;
  for (const segment of segments) {
    if (typeof current !== "object" || current === null || !Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

export function compileFieldMapper(fields: readonly FieldSpec[], deferred: ReadonlySet<string>): FieldMapper {
  const compiled: CompiledField[] = fields.map((f) => ({
    name: f.name,
    segments: (f.path ?? f.name).split("."),
    coerce: coercerFor(f.type, f.nullable),
    nullable: f.nullable,
    deferred: deferred.has(f.name),
  }));
  const byName = new Map(compiled.map((f) => [f.name, f]));
  const failure = (field: string, message: string): DecodeFailure =>
    new DecodeFailure("field", message, field);

  return {
    fields: fields.map(({ name, type, nullable }) => ({ name, type, nullable })),
    map(decoded) {
      const row: Row = {};
      for (const field of compiled) {
        const raw = readPath(decoded, field.segments);
        if (raw === undefined && field.deferred) continue;
        const value = field.coerce(raw);
        if (value instanceof Invalid) return failure(field.name, `field ${field.name}: ${value.message}`);
        row[field.name] = value;
      }
      return row;
    },
    coerce(name, raw) {
      const field = byName.get(name);
      if (field === undefined) return failure(name, `field ${name} is not declared in spec.fields`);
      const value = field.coerce(raw);
      return value instanceof Invalid ? failure(name, `field ${name}: ${value.message}`) : value;
    },
    complete(row) {
      for (const field of compiled) {
        if (!field.deferred || Object.hasOwn(row, field.name)) continue;
        if (!field.nullable)
          return failure(field.name, `field ${field.name}: is required but missing or null`);
        row[field.name] = null;
      }
      return row;
    },
  };
}
