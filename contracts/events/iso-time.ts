/**
 * A strict, allocation-free ISO-8601 / RFC 3339 timestamp parser for the hot path. `Date.parse` accepts
 * many informal formats (and reads zone-less date-times as local time); event times must mean one thing
 * everywhere, so only these are accepted:
 *   YYYY-MM-DD
 *   YYYY-MM-DD[T| ]HH:MM[:SS[.fraction]][Z|±HH:MM|±HHMM]   (no zone = UTC)
 * Fractions beyond milliseconds are truncated (ClickHouse's DateTime64(3) keeps milliseconds).
 */

function digits(text: string, at: number, count: number): number {
  let value = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    value = value * 10 + c;
  }
  return value;
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function isLeap(year: number): boolean {
  return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
}

/** Epoch milliseconds, or undefined when `text` is not a timestamp in the accepted forms. */
export function parseIsoTimestamp(text: string): number | undefined {
  const n = text.length;
  if (n < 10 || text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45) return undefined;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return undefined;
  const maxDay = month === 2 && isLeap(year) ? 29 : (daysInMonth[month - 1] ?? 0);
  if (day > maxDay) return undefined;
  if (n === 10) return Date.UTC(year, month - 1, day);

  const sep = text.charCodeAt(10);
  if ((sep !== 84 && sep !== 116 && sep !== 32) || n < 16 || text.charCodeAt(13) !== 58) return undefined;
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59) return undefined;
  let i = 16;
  let second = 0;
  let ms = 0;
  if (i < n && text.charCodeAt(i) === 58) {
    second = digits(text, i + 1, 2);
    if (second < 0 || second > 59) return undefined;
    i += 3;
    if (i < n && (text.charCodeAt(i) === 46 || text.charCodeAt(i) === 44)) {
      i++;
      const start = i;
      while (i < n) {
        const c = text.charCodeAt(i) - 48;
        if (c < 0 || c > 9) break;
        if (i - start < 3) ms = ms * 10 + c;
        i++;
      }
      const count = i - start;
      if (count === 0) return undefined;
      if (count === 1) ms *= 100;
      else if (count === 2) ms *= 10;
    }
  }
  let offsetMinutes = 0;
  if (i < n) {
    const z = text.charCodeAt(i);
    if ((z === 90 || z === 122) && i + 1 === n) {
      i++;
    } else if (z === 43 || z === 45) {
      const sign = z === 43 ? 1 : -1;
      const oh = digits(text, i + 1, 2);
      let om: number;
      if (text.charCodeAt(i + 3) === 58 && i + 6 === n) om = digits(text, i + 4, 2);
      else if (i + 5 === n) om = digits(text, i + 3, 2);
      else return undefined;
      if (oh < 0 || oh > 23 || om < 0 || om > 59) return undefined;
      offsetMinutes = sign * (oh * 60 + om);
      i = n;
    } else {
      return undefined;
    }
  }
  if (i !== n) return undefined;
  return Date.UTC(year, month - 1, day, hour, minute, second, ms) - offsetMinutes * 60_000;
}

/**
 * Whether `text` is `YYYY-MM-DDTHH:MM:SS[.fraction]Z` with a real calendar date and a time of day below
 * 24:00 (no leap second): the form producers almost always send. True only for strings that JSON Schema's
 * `date-time` format (RFC 3339, as ajv-formats checks it) accepts; false means "not this form", and the
 * caller asks the full check. Allocates nothing, unlike the full check's split and regular expressions.
 */
export function isPlainUtcDateTime(text: string): boolean {
  const n = text.length;
  if (n < 20 || text.charCodeAt(n - 1) !== 90) return false;
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84) return false;
  if (text.charCodeAt(13) !== 58 || text.charCodeAt(16) !== 58) return false;
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const day = digits(text, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1) return false;
  if (day > (month === 2 && isLeap(year) ? 29 : (daysInMonth[month - 1] ?? 0))) return false;
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  if (n === 20) return true;
  // A fraction: a dot and at least one digit before the Z.
  if (text.charCodeAt(19) !== 46 || n < 22) return false;
  return digits(text, 20, n - 21) >= 0;
}
