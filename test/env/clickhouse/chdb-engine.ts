/**
 * The chdb engine behind the HTTP server: one persistent Session on the data directory, every
 * statement run one at a time, and per-request settings and default database applied around the
 * statement and then put back.
 *
 * Why one at a time: chdb is a single in-process engine and a Session is one connection whose
 * settings (SET) and current database (USE) are shared by every statement run on it. A request's
 * settings are applied with SET right before its statement and restored right after, which is only
 * correct if no other statement runs in between. chdb itself already serialises every
 * parameterised query process-wide (its index.js: parameter state is not isolated per connection),
 * so little parallelism is lost.
 *
 * Why chdb's native binding rather than Session.queryBindAsync / Session.insert:
 * - HTTP `param_*` values arrive already in the server's escaped text form (`it\'s`,
 *   `['a','b']`); the native call hands them to the engine verbatim, exactly as the HTTP handler
 *   does, while queryBindAsync re-escapes JS strings (a backslash would be doubled).
 * - The native raw insert takes any SQL prefix with a byte payload (RowBinary, Parquet, ...) and
 *   reports rows and bytes written; Session.insert only builds `INSERT INTO t FORMAT <text format>`.
 * The binding is checked at startup, so a chdb upgrade that changes it fails loudly here.
 */
import { mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { resolve } from "node:path";
import { drainPending, Session } from "chdb";
import { ClickHouseServerError, fromEngineError } from "./errors.js";

interface NativeQueryResult {
  readonly bytes: Uint8Array;
  readonly rowsRead: number;
  readonly bytesRead: number;
}

interface NativeInsertResult {
  readonly rowsWritten: number;
  readonly bytesWritten: number;
}

/** The two functions of chdb's addon this server uses (see chdb/index.js, Session.queryBindAsync and insert). */
interface ChdbNative {
  QueryAsyncConnection(
    connection: unknown,
    sql: string,
    format: string,
    params?: Record<string, string>,
  ): Promise<NativeQueryResult>;
  InsertRawAsyncConnection(
    connection: unknown,
    prefix: string,
    data: Buffer,
    countLines: boolean,
  ): Promise<NativeInsertResult>;
}

function hasFunctions(value: unknown, names: readonly string[]): boolean {
  if (typeof value !== "object" || value === null) return false;
  const record = value as Record<string, unknown>;
  return names.every((name) => typeof record[name] === "function");
}

function loadChdbNative(): ChdbNative {
  const require = createRequire(import.meta.url);
  // chdb's own loader caches the addon, so this is the same instance Session uses.
  const loader: unknown = createRequire(require.resolve("chdb"))("./dist/loader.js");
  if (!hasFunctions(loader, ["loadNative"])) {
    throw new Error("chdb/dist/loader.js has no loadNative(): this server is written against chdb 3.4.0");
  }
  const native: unknown = (loader as { loadNative(): unknown }).loadNative();
  if (!hasFunctions(native, ["QueryAsyncConnection", "InsertRawAsyncConnection"])) {
    throw new Error(
      "chdb's native addon lacks QueryAsyncConnection/InsertRawAsyncConnection: this server is written against chdb 3.4.0",
    );
  }
  return native as ChdbNative;
}

/** A single-quoted SQL string literal. */
function quoteString(value: string): string {
  return `'${value.replace(/\\/g, "\\\\").replace(/'/g, "\\'")}'`;
}

/** A backquoted SQL identifier. */
function quoteIdentifier(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}

interface JobContext {
  /** Default database for this statement, if it is not the server's default. */
  readonly database: string | undefined;
  /** Settings for this statement only. */
  readonly settings: ReadonlyMap<string, string>;
  /** The statement itself may switch database (USE): restore the default afterwards. */
  readonly mayChangeDatabase: boolean;
}

export type EngineJob = JobContext &
  (
    | {
        readonly type: "query";
        readonly sql: string;
        /** Used when the query has no FORMAT clause. */
        readonly defaultFormat: string;
        readonly params: Readonly<Record<string, string>>;
      }
    | {
        /** INSERT whose SQL part is `prefix`; `data` (possibly empty) follows it. */
        readonly type: "insert";
        readonly prefix: string;
        readonly data: Buffer;
      }
  );

export interface EngineOutcome {
  readonly output: Buffer;
  readonly readRows: number;
  readonly readBytes: number;
  readonly writtenRows: number;
  readonly writtenBytes: number;
  readonly elapsedNs: bigint;
}

export class ChdbEngine {
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  /** Set when a restore failed: the session may carry another request's settings, so stop. */
  private broken: ClickHouseServerError | undefined;

  private constructor(
    private readonly session: Session,
    private readonly native: ChdbNative,
    /** Settings the session starts with that differ from the engine defaults (chdb changes a few). */
    private readonly baselineChanged: ReadonlyMap<string, string>,
    /** Every setting name the engine knows, aliases included: only these can be restored. */
    private readonly knownSettings: ReadonlySet<string>,
    private readonly defaultDatabase: string,
    readonly version: string,
    readonly timezone: string,
  ) {}

  static async open(dataDir: string): Promise<ChdbEngine> {
    const path = resolve(dataDir);
    mkdirSync(path, { recursive: true });
    let session: Session;
    try {
      session = new Session(path);
    } catch (error) {
      throw new Error(`cannot open a chdb session on ${path}`, { cause: error });
    }
    try {
      const native = loadChdbNative();
      const text = async (sql: string) =>
        Buffer.from((await native.QueryAsyncConnection(session.connection, sql, "TabSeparated")).bytes)
          .toString("utf8")
          .trimEnd();
      const [version = "", timezone = "", database = ""] = (
        await text("SELECT version(), timezone(), currentDatabase()")
      ).split("\t");
      const baselineChanged = new Map<string, string>();
      const knownSettings = new Set<string>();
      const settingsRows = await native.QueryAsyncConnection(
        session.connection,
        "SELECT name, value, changed FROM system.settings",
        "JSONCompactEachRow",
      );
      for (const line of Buffer.from(settingsRows.bytes).toString("utf8").split("\n")) {
        if (line === "") continue;
        const [name, value, changed] = JSON.parse(line) as [string, string, number];
        knownSettings.add(name);
        if (changed) baselineChanged.set(name, value);
      }
      return new ChdbEngine(session, native, baselineChanged, knownSettings, database, version, timezone);
    } catch (error) {
      session.close();
      throw new Error(`cannot initialise the chdb engine on ${path}`, { cause: error });
    }
  }

  /** Runs one job after every job submitted before it has finished. */
  execute(job: EngineJob): Promise<EngineOutcome> {
    if (this.closed) {
      return Promise.reject(ClickHouseServerError.of("ABORTED", "The server is shutting down"));
    }
    const run = this.queue.then(() => this.runJob(job));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for queued jobs, then closes the session (which flushes and releases the data directory). */
  async close(): Promise<void> {
    this.closed = true;
    await this.queue;
    this.session.close();
    await drainPending();
  }

  private async sql(statement: string): Promise<NativeQueryResult> {
    try {
      return await this.native.QueryAsyncConnection(this.session.connection, statement, "TabSeparated");
    } catch (error) {
      throw fromEngineError(error, `chdb failed on "${statement.slice(0, 200)}"`);
    }
  }

  private async runJob(job: EngineJob): Promise<EngineOutcome> {
    if (this.broken) throw this.broken;
    const started = process.hrtime.bigint();
    const useDatabase = job.database !== undefined && job.database !== this.defaultDatabase;
    try {
      if (useDatabase && job.database !== undefined) await this.sql(`USE ${quoteIdentifier(job.database)}`);
      if (job.settings.size > 0) {
        // Values go in as strings, as the HTTP handler passes them: the engine parses each one
        // according to the setting's type (verified for numbers, booleans, maps, 'auto(2)').
        const changes = [...job.settings].map(([name, value]) => `${name} = ${quoteString(value)}`);
        await this.sql(`SET ${changes.join(", ")}`);
      }
      const outcome = await this.runStatement(job);
      return { ...outcome, elapsedNs: process.hrtime.bigint() - started };
    } finally {
      await this.restore(job, useDatabase || job.mayChangeDatabase);
    }
  }

  private async runStatement(job: EngineJob): Promise<Omit<EngineOutcome, "elapsedNs">> {
    try {
      if (job.type === "insert") {
        const result = await this.native.InsertRawAsyncConnection(
          this.session.connection,
          job.prefix,
          job.data,
          false,
        );
        return {
          output: Buffer.alloc(0),
          readRows: 0,
          readBytes: 0,
          writtenRows: result.rowsWritten,
          writtenBytes: result.bytesWritten,
        };
      }
      const params = Object.keys(job.params).length > 0 ? job.params : undefined;
      const result = params
        ? await this.native.QueryAsyncConnection(this.session.connection, job.sql, job.defaultFormat, params)
        : await this.native.QueryAsyncConnection(this.session.connection, job.sql, job.defaultFormat);
      return {
        output: Buffer.from(result.bytes.buffer, result.bytes.byteOffset, result.bytes.byteLength),
        readRows: result.rowsRead,
        readBytes: result.bytesRead,
        writtenRows: 0,
        writtenBytes: 0,
      };
    } catch (error) {
      throw fromEngineError(error, "chdb failed to run the query");
    }
  }

  /**
   * Puts back every setting the job touched, including ones a failed SET may have applied
   * partially (the engine applies `SET a = 1, b = 2` up to the first bad name), and the default
   * database.
   */
  private async restore(job: JobContext, database: boolean): Promise<void> {
    const resets = [...job.settings.keys()]
      .filter((name) => this.knownSettings.has(name))
      .map((name) => {
        const baseline = this.baselineChanged.get(name);
        return baseline === undefined ? `${name} = DEFAULT` : `${name} = ${quoteString(baseline)}`;
      });
    try {
      if (resets.length > 0) await this.sql(`SET ${resets.join(", ")}`);
      if (database) await this.sql(`USE ${quoteIdentifier(this.defaultDatabase)}`);
    } catch (error) {
      this.broken = ClickHouseServerError.of(
        "UNKNOWN_EXCEPTION",
        `Could not restore the session after a query (settings ${[...job.settings.keys()].join(", ")}); restart the server`,
        { cause: error },
      );
      throw this.broken;
    }
  }
}
