/**
 * Just enough of ClickHouse's lexer to learn what the HTTP layer must know before the engine sees a
 * query: the statement kind, the FORMAT clause, where an INSERT's inline data begins (so binary
 * data is never decoded as text) and whether a second statement follows (the real HTTP interface
 * refuses multi-statements; chdb would run them). It skips comments, string literals and quoted
 * identifiers, and tracks bracket depth so `format(...)` or a subquery's FORMAT is not mistaken for
 * the clause. Everything else is left to the engine's parser.
 *
 * Input is the request text decoded as latin1, so every character offset is a byte offset into
 * the original body.
 */

export interface QueryShape {
  /** The first keyword upper-cased (SELECT, INSERT, ...), "(" for a parenthesised query, "" when empty. */
  readonly kind: string;
  /** The FORMAT clause's format name: the output format, or for INSERT the input format. */
  readonly format: string | undefined;
  /**
   * INSERT only: where the SQL ends and inline data may follow: after `FORMAT name`, or after
   * `VALUES`. Undefined for INSERT ... SELECT and every other statement.
   */
  readonly sqlEnd: number | undefined;
  /** INSERT only: where the data starts: sqlEnd plus the blanks and one line break the server skips. */
  readonly dataOffset: number | undefined;
  /** Offset of a second statement after a top-level `;`, if there is one. */
  readonly secondStatementAt: number | undefined;
}

interface Token {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly word: boolean;
}

const wordStart = /[A-Za-z_]/;
const wordChar = /[A-Za-z0-9_]/;

/** Returns the index after a quoted run starting at `start` (backslash escapes and doubled quotes). */
function skipQuoted(text: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < text.length) {
    const ch = text[i];
    if (ch === "\\") i += 2;
    else if (ch === quote) {
      if (text[i + 1] === quote) i += 2;
      else return i + 1;
    } else i += 1;
  }
  return text.length;
}

function* tokens(text: string, from = 0): Generator<Token> {
  let i = from;
  while (i < text.length) {
    const ch = text[i] ?? "";
    if (/\s/.test(ch)) {
      i += 1;
    } else if (ch === "-" && text[i + 1] === "-") {
      const eol = text.indexOf("\n", i);
      i = eol === -1 ? text.length : eol + 1;
    } else if (ch === "/" && text[i + 1] === "*") {
      const close = text.indexOf("*/", i + 2);
      i = close === -1 ? text.length : close + 2;
    } else if (ch === "'" || ch === '"' || ch === "`") {
      const end = skipQuoted(text, i, ch);
      yield { text: text.slice(i, end), start: i, end, word: false };
      i = end;
    } else if (wordStart.test(ch)) {
      let end = i + 1;
      while (end < text.length && wordChar.test(text[end] ?? "")) end += 1;
      yield { text: text.slice(i, end), start: i, end, word: true };
      i = end;
    } else {
      yield { text: ch, start: i, end: i + 1, word: false };
      i += 1;
    }
  }
}

/** Where inline data starts after `FORMAT name`: blanks, then at most one CR LF / LF are skipped. */
function skipToData(text: string, from: number): number {
  let i = from;
  while (i < text.length && (text[i] === " " || text[i] === "\t" || text[i] === "\f")) i += 1;
  if (text[i] === "\r") i += 1;
  if (text[i] === "\n") i += 1;
  return i;
}

const noData = { sqlEnd: undefined, dataOffset: undefined } as const;

export function analyzeQuery(text: string): QueryShape {
  const all = tokens(text);
  const first = all.next();
  if (first.done) return { kind: "", format: undefined, ...noData, secondStatementAt: undefined };
  const kind = first.value.word ? first.value.text.toUpperCase() : first.value.text;
  const isInsert = kind === "INSERT";

  let depth = first.value.text === "(" ? 1 : 0;
  let format: string | undefined;
  let sawSelect = false;
  // Two tokens of lookbehind: `FORMAT <name>` is only the clause when what follows ends the query.
  let previous: Token | undefined = first.value;
  let beforePrevious: Token | undefined;
  let pendingFormat: string | undefined;
  let afterSemicolon = false;

  for (const token of all) {
    const upper = token.word ? token.text.toUpperCase() : token.text;
    if (afterSemicolon) {
      return { kind, format, ...noData, secondStatementAt: token.start };
    }
    if (pendingFormat !== undefined) {
      // `FORMAT x` followed by SETTINGS or `;` (or the end, handled below) is the clause.
      if (depth === 0 && (upper === "SETTINGS" || upper === ";")) format = pendingFormat;
      pendingFormat = undefined;
    }
    if (token.text === "(" || token.text === "[" || token.text === "{") depth += 1;
    else if (token.text === ")" || token.text === "]" || token.text === "}") depth = Math.max(0, depth - 1);
    else if (depth === 0) {
      if (isInsert && (upper === "SELECT" || upper === "WITH")) sawSelect = true;
      if (isInsert && !sawSelect && upper === "VALUES") {
        // VALUES data is SQL-like text; the engine takes it from right after the keyword.
        return {
          kind,
          format: "Values",
          sqlEnd: token.end,
          dataOffset: token.end,
          secondStatementAt: undefined,
        };
      }
      if (token.word && previous?.word && previous.text.toUpperCase() === "FORMAT") {
        const followsKeyword = beforePrevious === undefined || beforePrevious.text !== ".";
        if (isInsert && followsKeyword) {
          const dataOffset = skipToData(text, token.end);
          return { kind, format: token.text, sqlEnd: token.end, dataOffset, secondStatementAt: undefined };
        }
        if (followsKeyword) pendingFormat = token.text;
      }
      if (upper === ";") afterSemicolon = true;
    }
    beforePrevious = previous;
    previous = token;
  }
  if (pendingFormat !== undefined) format = pendingFormat;
  return { kind, format, ...noData, secondStatementAt: undefined };
}

/** Statement kinds a read-only request (HTTP GET, or the `readonly` setting) may run. */
const readOnlyKinds = new Set([
  "SELECT",
  "WITH",
  "(",
  "SHOW",
  "DESCRIBE",
  "DESC",
  "EXISTS",
  "EXPLAIN",
  "SET",
  "USE",
]);

export function isReadOnlyKind(kind: string): boolean {
  return readOnlyKinds.has(kind);
}
