/**
 * A spec that cannot succeed as written: reported in a `Ready=False` condition and a Warning Event,
 * never retried until the spec changes (controller-runtime's TerminalError). `path` names the field.
 */
export class SpecError extends Error {
  override readonly name = "SpecError";
  readonly code = "SPEC_INVALID";

  constructor(
    readonly path: string,
    readonly problem: string,
    readonly reason: string = "InvalidSpec",
  ) {
    super(`${path}: ${problem}`);
  }
}
