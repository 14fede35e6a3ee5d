/** What a collect request ends in: accepted (the broker acknowledged), or refused with why. */
import type { ErrorResponse } from "../../api/v1alpha1/query.js";

/** One invalid event's problem: `events[i]` then the JSON pointer inside the event. */
export interface EventProblem {
  readonly path: string;
  readonly message: string;
}

/** The ErrorResponse shape, plus every invalid event's problems when a batch is refused for them. */
export interface CollectErrorBody extends ErrorResponse {
  readonly errors?: readonly EventProblem[];
}

export type CollectStatus = 400 | 404 | 413 | 415 | 422 | 503;

export type CollectOutcome =
  | { readonly kind: "accepted"; readonly accepted: number }
  | {
      readonly kind: "refused";
      readonly status: CollectStatus;
      readonly body: CollectErrorBody;
      /** 503: when to try again (the Retry-After header). */
      readonly retryAfterSeconds?: number;
    };
