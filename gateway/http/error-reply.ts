/**
 * What the API answers for an error (pure): refusals and validation failures as they are, other
 * client errors fastify raised (bad JSON, wrong content type, body too large) with their status, and
 * anything else as a generic 500 whose cause goes to the log only.
 */
import type { ErrorResponse } from "../../api/v1alpha1/query.js";
import { QueryRefusal } from "../query/query-refusal.js";
import { type AjvError, validationErrorResponse } from "./validation-error.js";

/** Thrown by the rate limiter (its errorResponseBuilder): 429 and when to retry. */
export class RateLimited extends Error {
  override readonly name = "RateLimited";
  readonly statusCode = 429;
  constructor(readonly retryAfterSeconds: number) {
    super(`Rate limit exceeded: retry in ${retryAfterSeconds} s (Retry-After).`);
  }
}

export interface ErrorReply {
  readonly status: number;
  readonly body: ErrorResponse;
  /** A server fault: log it with its stack. */
  readonly fault: boolean;
}

interface FastifyLikeError {
  readonly statusCode?: number;
  readonly code?: string;
  readonly message?: string;
  readonly validation?: readonly AjvError[];
  readonly validationContext?: string;
}

export function errorReply(error: unknown): ErrorReply {
  if (error instanceof QueryRefusal) return { status: error.status, body: error.body, fault: false };
  if (error instanceof RateLimited)
    return {
      status: 429,
      body: {
        error: "RateLimited",
        message: `Too many requests for this token: retry in ${error.retryAfterSeconds} s (the Retry-After header).`,
      },
      fault: false,
    };
  const e = (typeof error === "object" && error !== null ? error : {}) as FastifyLikeError;
  if (e.validation !== undefined)
    return {
      status: 400,
      body: validationErrorResponse(e.validation, e.validationContext ?? "request"),
      fault: false,
    };
  if (typeof e.statusCode === "number" && e.statusCode >= 400 && e.statusCode < 500)
    return {
      status: e.statusCode,
      body: { error: e.code ?? "BadRequest", message: e.message ?? "The request was refused." },
      fault: false,
    };
  return {
    status: 500,
    body: { error: "InternalError", message: "The gateway failed to answer; the cause is in its log." },
    fault: true,
  };
}
