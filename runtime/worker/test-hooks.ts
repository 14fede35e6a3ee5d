/**
 * Fault injection for the integration tests, honoured only when TALLY_TEST_CRASH_AT is set:
 *   TALLY_TEST_CRASH_AT=before-insert | after-raw-insert | after-insert | before-dead-letter-commit | after-dead-letters
 *   TALLY_TEST_CRASH_AFTER_BATCHES=<n>   (default 3): crash at the n-th batch with rows reaching that point
 * The process kills itself with SIGKILL there, as `kill -9` would: no cleanup, no commit, nothing flushed.
 *   before-insert     the batch's in-flight record is committed, nothing inserted
 *   after-raw-insert  the raw insert was acknowledged, the window insert not sent
 *   after-insert      both inserts acknowledged, the offsets after the batch not committed
 *   before-dead-letter-commit  the batch's dead letters sent inside their transaction, not committed
 *   after-dead-letters         the dead-letter transaction committed, the source offsets not
 */
import { runtimeEnv } from "../../contracts/runtime-env.js";

const crashPoints = [
  "before-insert",
  "after-raw-insert",
  "after-insert",
  "before-dead-letter-commit",
  "after-dead-letters",
] as const;
type CrashPoint = (typeof crashPoints)[number];

export interface TestHooks {
  reached(point: CrashPoint, rows: number): void;
}

const noTestHooks: TestHooks = { reached() {} };

export function testHooksFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  crash: () => void = () => process.kill(process.pid, "SIGKILL"),
): TestHooks {
  const { testCrashAt, testCrashAfterBatches } = runtimeEnv;
  const at = env[testCrashAt.name];
  if (at === undefined || at === "") return noTestHooks;
  if (!(crashPoints as readonly string[]).includes(at)) {
    throw new Error(`${testCrashAt.name}=${at}: expected one of ${crashPoints.join(", ")}`);
  }
  const afterRaw = env[testCrashAfterBatches.name];
  const after = afterRaw === undefined ? testCrashAfterBatches.requirement.default : Number(afterRaw);
  if (!Number.isInteger(after) || after < 1) {
    throw new Error(`${testCrashAfterBatches.name}=${afterRaw}: expected an integer >= 1`);
  }
  let seen = 0;
  return {
    reached(point, rows) {
      if (point !== at || rows === 0) return;
      seen++;
      if (seen >= after) crash();
    },
  };
}
