/**
 * Go-style durations as the Pipeline spec writes them (`500ms`, `5s`, `1m`, `1h30m`): the same syntax
 * the CRD's pattern admits and CEL's `duration()` parses, so the runtime and the autoscaler read what the
 * apiserver checked.
 */

const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const part = /([0-9]+)(ms|s|m|h)/y;

export class DurationError extends Error {
  override readonly name = "DurationError";
}

/** Milliseconds of a duration string; throws a DurationError naming `context` when it is not one. */
export function parseDuration(text: string, context: string): number {
  if (text.length === 0) throw new DurationError(`${context}: empty duration`);
  let total = 0;
  part.lastIndex = 0;
  while (part.lastIndex < text.length) {
    const at = part.lastIndex;
    const match = part.exec(text);
    if (match === null) {
      throw new DurationError(
        `${context}: "${text}" is not a duration like 30s, 2m or 1h30m (bad at offset ${at})`,
      );
    }
    const [, amount = "", unit = ""] = match;
    total += Number(amount) * (unitMs[unit] ?? Number.NaN);
  }
  if (!Number.isSafeInteger(total)) throw new DurationError(`${context}: "${text}" is out of range`);
  return total;
}
