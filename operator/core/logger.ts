/** Structured JSON logs; each line names the controller and, where there is one, the object. */
import { pino } from "pino";

export const logger = pino({
  level: process.env.TALLY_LOG_LEVEL ?? "info",
  base: { component: "tally-operator" },
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
});
type Logger = typeof logger;

export function objectLogger(controller: string, key: string): Logger {
  const [namespace, name] = key.includes("/") ? key.split("/", 2) : [undefined, key];
  return logger.child({ controller, namespace, name });
}
