/**
 * Structured JSON logs. The Authorization header is redacted wherever a request or its headers are
 * logged, so no bearer token reaches the log even if a serializer starts logging headers.
 */
import { type DestinationStream, pino } from "pino";

export const redactedPaths = [
  "req.headers.authorization",
  "request.headers.authorization",
  "headers.authorization",
  "authorization",
];

export function createLogger(destination?: DestinationStream, level = process.env.TALLY_LOG_LEVEL ?? "info") {
  const options = {
    level,
    base: { component: "tally-gateway" },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactedPaths, censor: "[redacted]" },
  };
  return destination === undefined ? pino(options) : pino(options, destination);
}
export type Logger = ReturnType<typeof createLogger>;
