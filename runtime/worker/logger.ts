/** Structured JSON logs (pino); every line names the component, the pipeline and the pod. */
import { pino } from "pino";
import { runtimeEnv } from "../../contracts/runtime-env.js";

export type Logger = pino.Logger;

export function createLogger(fields: {
  readonly namespace: string;
  readonly pipeline: string;
  readonly pod: string;
}): Logger {
  return pino({
    level: process.env[runtimeEnv.logLevel.name] ?? runtimeEnv.logLevel.requirement.default,
    base: { component: "tally-runtime", ...fields },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
  });
}
