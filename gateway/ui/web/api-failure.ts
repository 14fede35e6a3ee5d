/**
 * What the page says when the API refuses or fails (pure): the status in words a person can act on,
 * then the API's own message and the field it names. 401 is the token page's cue.
 */
import type { ErrorResponse } from "../../../api/v1alpha1/query.js";

export interface ApiFailure {
  readonly status: number; // 0: no answer (network, gateway down)
  readonly headline: string;
  readonly message: string;
  readonly field?: string;
}

function isErrorResponse(body: unknown): body is ErrorResponse {
  return (
    typeof body === "object" &&
    body !== null &&
    typeof (body as { error?: unknown }).error === "string" &&
    typeof (body as { message?: unknown }).message === "string"
  );
}

const headlines: Record<number, string> = {
  400: "Request refused",
  401: "Token refused",
  403: "Not allowed with this token",
  404: "Not found",
  422: "Query too costly",
  429: "Too many requests",
  500: "The gateway failed",
  503: "A backend is unavailable",
};

export function describeFailure(status: number, body: unknown): ApiFailure {
  const headline = headlines[status] ?? (status >= 500 ? "The gateway failed" : `Refused (HTTP ${status})`);
  if (isErrorResponse(body))
    return {
      status,
      headline,
      message: body.message,
      ...(body.field === undefined ? {} : { field: body.field }),
    };
  return { status, headline, message: `HTTP ${status} without an explanation.` };
}

export function unreachable(error: unknown): ApiFailure {
  const why = error instanceof Error ? error.message : String(error);
  return { status: 0, headline: "Gateway unreachable", message: `No answer from the gateway (${why}).` };
}

/** One line: "Token refused: … (field: x)". */
export function failureText(failure: ApiFailure): string {
  return `${failure.headline}: ${failure.message}${failure.field === undefined ? "" : ` (field: ${failure.field})`}`;
}
