/**
 * Why a controller could not reach a usable ClickHouse, as a condition reason. The pipeline and rollup
 * controllers both read credentials, connect and check the server version before any DDL, and must
 * report the same failure the same way.
 */
import { type Reason, reasons } from "./conditions.js";
import { SecretNotFoundError } from "./secrets.js";

/** The server answers but is older than the DDL needs: nothing to retry soon, it must be upgraded. */
export class UnsupportedServerError extends Error {
  override readonly name = "UnsupportedServerError";
}

export function clickhouseFailureReason(error: unknown): Reason {
  if (error instanceof SecretNotFoundError) return reasons.SecretNotFound;
  if (error instanceof UnsupportedServerError) return reasons.ClickHouseVersionUnsupported;
  return reasons.ClickHouseUnavailable;
}
