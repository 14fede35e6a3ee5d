/**
 * What the stack needs to know to run one local service. Each service module under
 * `test/env/services/` exports one of these; `test/env/stack.ts` starts them in order.
 */
export interface ServiceSpec {
  /** Short name: log file `<name>.log`, pid file `<name>.pid`. */
  readonly name: string;
  /** Human-readable address for `make stack-status`. */
  readonly address: string;
  /** Ports that must be free before start (a taken port is reported with the owner, not a stack trace). */
  readonly ports: readonly number[];
  /** Checks that the cache `make setup` fills is present; returns a message naming what is missing. */
  checkInstalled(): Promise<string | undefined>;
  /** Writes configuration and data directories; idempotent (runs on every start). */
  prepare(): Promise<void>;
  /** The long-running process. */
  command(): { file: string; args: string[]; env?: Record<string, string>; cwd?: string };
  /** Resolves true once the service answers its own protocol (not just an open port). */
  isReady(): Promise<boolean>;
  /** How long a start may take before it is reported as failed with the log tail. */
  readonly readyTimeoutMs: number;
  /** Signal and grace period for stop. */
  readonly stopGraceMs: number;
}
