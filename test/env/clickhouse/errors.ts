/**
 * ClickHouse error codes, their HTTP statuses and the text form of an exception, as the real
 * server's HTTP interface sends them. @clickhouse/client parses the body with
 * /(Code|Error): (?<code>\d+).*Exception: (?<message>.+?)\((?<type>[A-Z0-9_]+)\)/ and reads the
 * X-ClickHouse-Exception-Code header, so both must match the server's own format exactly.
 */

/** The codes this server raises itself (values from the engine's system.errors). */
const errorCodes = {
  BAD_ARGUMENTS: 36,
  NOT_IMPLEMENTED: 48,
  SYNTAX_ERROR: 62,
  UNKNOWN_SETTING: 115,
  READONLY: 164,
  ABORTED: 236,
  CANNOT_DECOMPRESS: 271,
  AUTHENTICATION_FAILED: 516,
  UNKNOWN_EXCEPTION: 1002,
} as const;

type ErrorName = keyof typeof errorCodes;

/**
 * ClickHouse's src/Server/HTTP/exceptionCodeToHTTPStatus.cpp, by code; every other code is a 500
 * there too. Names, in order:
 * 401 REQUIRED_PASSWORD.
 * 403 UNKNOWN_USER, WRONG_PASSWORD, AUTHENTICATION_FAILED, SET_NON_GRANTED_ROLE, ACCESS_DENIED.
 * 400 BAD_ARGUMENTS, CANNOT_COMPILE_REGEXP, CANNOT_PARSE_{TEXT, ESCAPE_SEQUENCE, QUOTED_STRING, DATE,
 *     DATETIME, NUMBER, DOMAIN_VALUE_FROM_STRING, IPV4, IPV6, INPUT_ASSERTION_FAILED, UUID},
 *     DUPLICATE_COLUMN, ILLEGAL_COLUMN, UNKNOWN_ELEMENT_IN_AST, UNKNOWN_TYPE_OF_AST_NODE,
 *     THERE_IS_NO_COLUMN, TOO_DEEP_AST, TOO_BIG_AST, UNEXPECTED_AST_STRUCTURE, SYNTAX_ERROR,
 *     INCORRECT_DATA, TYPE_MISMATCH, VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE.
 * 404 UNKNOWN_{TABLE, FUNCTION, IDENTIFIER, TYPE, STORAGE, DATABASE, SETTING, DIRECTION_OF_SORTING,
 *     AGGREGATE_FUNCTION, FORMAT, DATABASE_ENGINE, TYPE_OF_QUERY, ROLE}.
 * 413 QUERY_IS_TOO_LARGE. 501 NOT_IMPLEMENTED. 503 SOCKET_TIMEOUT, CANNOT_OPEN_FILE,
 * CANNOT_SCHEDULE_TASK. 411 HTTP_LENGTH_REQUIRED. 408 TIMEOUT_EXCEEDED. 415 UNSUPPORTED_MEDIA_TYPE.
 */
const statusGroups: ReadonlyArray<readonly [number, readonly number[]]> = [
  [401, [194]],
  [403, [192, 193, 516, 512, 497]],
  [
    400,
    [
      36, 427, 6, 25, 26, 38, 41, 72, 441, 675, 676, 27, 376, 15, 44, 37, 123, 8, 167, 168, 223, 62, 117, 53,
      321,
    ],
  ],
  [404, [60, 46, 47, 50, 56, 81, 115, 152, 63, 73, 336, 78, 511]],
  [413, [229]],
  [501, [48]],
  [503, [209, 76, 439]],
  [411, [381]],
  [408, [159]],
  [415, [779]],
];

const statusByCode = new Map<number, number>(
  statusGroups.flatMap(([status, codes]) => codes.map((code) => [code, status] as const)),
);

/** The HTTP status the real server answers with for an exception code. */
export function httpStatusForErrorCode(code: number): number {
  return statusByCode.get(code) ?? 500;
}

/**
 * An exception with a ClickHouse code and name. `message` is the bare message (no "Code: N." prefix
 * and no "(NAME)" suffix); `toText` renders the server's wire form.
 */
export class ClickHouseServerError extends Error {
  constructor(
    readonly code: number,
    readonly errorName: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ClickHouseServerError";
  }

  static of(name: ErrorName, message: string, options?: { cause?: unknown }): ClickHouseServerError {
    return new ClickHouseServerError(errorCodes[name], name, message, options);
  }

  /** `Code: 60. DB::Exception: <message>. (UNKNOWN_TABLE) (version 26.x)`, as the server writes it. */
  toText(version: string): string {
    // The engine's own messages already end in a period; ours may not. The server adds none.
    const message = /[.!?]$/.test(this.message) ? this.message : `${this.message}.`;
    return `Code: ${this.code}. DB::Exception: ${message} (${this.errorName}) (version ${version})`;
  }
}

// The engine's text: "Code: 60. DB::Exception: Unknown table ... (UNKNOWN_TABLE)", sometimes with a
// prefix such as "Query failed: " and trailing whitespace or a stack-trace tail after the name.
const engineErrorPattern = /Code: (\d+)\. DB::Exception: ([\s\S]*?)\s*\(([A-Z][A-Z0-9_]*)\)\s*$/;

/**
 * Turns whatever chdb threw into a ClickHouseServerError, keeping the engine's code and message.
 * Errors without a ClickHouse code (addon or Node failures) become UNKNOWN_EXCEPTION with context.
 */
export function fromEngineError(error: unknown, context: string): ClickHouseServerError {
  if (error instanceof ClickHouseServerError) return error;
  const text = error instanceof Error ? error.message : String(error);
  const match = engineErrorPattern.exec(text.trimEnd());
  if (match?.[1] !== undefined && match[2] !== undefined && match[3] !== undefined) {
    return new ClickHouseServerError(Number(match[1]), match[3], match[2], { cause: error });
  }
  return ClickHouseServerError.of("UNKNOWN_EXCEPTION", `${context}: ${text}`, { cause: error });
}
