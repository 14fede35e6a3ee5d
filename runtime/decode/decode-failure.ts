/** Why a message could not become a row; becomes the `tally-error-*` headers of its dead letter. */
export type FailureKind =
  /** The bytes are not a message of the declared format (bad JSON, truncated Avro, ...). */
  | "decode"
  /** Decoded, but the JSON Schema refused it. */
  | "schema"
  /** A declared field is missing or cannot be coerced to its column type. */
  | "field"
  /** A CEL transform failed to evaluate on the event. */
  | "transform";

export class DecodeFailure {
  constructor(
    readonly kind: FailureKind,
    readonly message: string,
    /** The declared field concerned, when there is one. */
    readonly field?: string,
  ) {}
}
