/**
 * A request the gateway will not run, with what to change: the HTTP layer answers it with `status` and
 * `body` as they are. Thrown by the pure planner (400/422), by the catalogue lookup (404) and by the
 * cost limits (422).
 */
import type { ErrorResponse } from "../../api/v1alpha1/query.js";

export type RefusalStatus = 400 | 403 | 404 | 422 | 503;

export class QueryRefusal extends Error {
  override readonly name = "QueryRefusal";
  readonly status: RefusalStatus;
  readonly body: ErrorResponse;

  constructor(status: RefusalStatus, body: ErrorResponse) {
    super(body.message);
    this.status = status;
    this.body = body;
  }
}

export function refuse(
  status: RefusalStatus,
  error: string,
  message: string,
  detail: { field?: string; allowed?: readonly string[] } = {},
): never {
  throw new QueryRefusal(status, {
    error,
    message,
    ...(detail.field === undefined ? {} : { field: detail.field }),
    ...(detail.allowed === undefined ? {} : { allowed: [...detail.allowed] }),
  });
}

/** The end of a refusal's message: what to send instead. */
export function useOneOf(names: readonly string[]): string {
  return names.length === 0 ? "there are none" : `use one of: ${names.join(", ")}`;
}
