/** Requests and refusals for the query router's unit tests: a request is its defaults plus what a test asks. */
import type { ErrorResponse, QueryRequest } from "../../../api/v1alpha1/query.js";
import { QueryRefusal, type RefusalStatus } from "../query-refusal.js";

export type Ask = Partial<QueryRequest> & Pick<QueryRequest, "metrics">;

/** A request as the HTTP schema's defaults complete it. */
export function queryRequest(ask: Ask): QueryRequest {
  return {
    dimensions: [],
    granularity: "none",
    timezone: "UTC",
    orderBy: [],
    limit: 1000,
    offset: 0,
    timeRange: { preset: "last_1h" },
    ...ask,
  };
}

/** The refusal `run` throws, as status and body; fails when it does not refuse. */
export function refusalOf(run: () => unknown): { status: RefusalStatus } & ErrorResponse {
  try {
    run();
  } catch (error) {
    if (error instanceof QueryRefusal) return { status: error.status, ...error.body };
    throw error;
  }
  throw new Error("not refused");
}
