/**
 * The only way a value from a custom resource becomes SQL text. Identifiers are checked against
 * the same pattern the CRD enforces and backquoted; literals are typed and escaped. DDL cannot take
 * query parameters (a materialized view's SELECT is stored as text), so DDL uses these; queries
 * at runtime bind `{name:Type}` parameters instead.
 */
import { identifierMaxLength, identifierPattern } from "../../api/v1alpha1/schema-kit.js";

const identifierRegExp = new RegExp(identifierPattern);

export class UnsafeSqlValueError extends Error {
  override readonly name = "UnsafeSqlValueError";
  readonly code = "UNSAFE_SQL_VALUE";
}

/** Backquoted identifier; throws (naming the context) for anything outside the safe pattern. */
export function quoteIdentifier(name: string, context: string): string {
  if (!identifierRegExp.test(name) || name.length > identifierMaxLength) {
    throw new UnsafeSqlValueError(
      `${context}: "${name}" is not a safe identifier (expected ${identifierPattern}, at most ${identifierMaxLength} characters)`,
    );
  }
  return `\`${name}\``;
}

/** `db`.`table`. */
export function qualifiedName(database: string, table: string, context: string): string {
  return `${quoteIdentifier(database, `${context} database`)}.${quoteIdentifier(table, `${context} table`)}`;
}

/** A ClickHouse string literal: backslash and quote escaped, control characters as escapes. */
export function quoteString(value: string): string {
  let out = "'";
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === "\\") out += "\\\\";
    else if (ch === "'") out += "\\'";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}'`;
}

/** A finite number literal; NaN and infinities are refused rather than rendered. */
export function numberLiteral(value: number, context: string): string {
  if (!Number.isFinite(value)) throw new UnsafeSqlValueError(`${context}: ${value} is not a finite number`);
  return String(value);
}

/**
 * Sanitises a Kubernetes object name (DNS-1123: lowercase, digits, `-`, `.`) into an identifier
 * part. Distinct names can collide (`a-b` and `a.b`), so callers add the namespace and check.
 */
export function identifierFromObjectName(name: string): string {
  const replaced = name.replace(/[-.]/g, "_");
  return /^[0-9]/.test(replaced) ? `_${replaced}` : replaced;
}
