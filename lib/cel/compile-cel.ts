/**
 * CEL expressions of a Pipeline (filters and computed fields), parsed and planned once; the runtime
 * evaluates them on every event with it (`event` is the only variable). Never `eval`. Before a spec is
 * accepted, check-cel.ts type-checks each expression against the declared fields in the same
 * environment (`celEnv()`).
 */
import { type CelInput, type CelValue, celEnv, isCelError, parse, plan } from "@bufbuild/cel";

type CompiledCel =
  | { readonly ok: true; readonly evaluate: (event: Record<string, unknown>) => CelResultValue }
  | { readonly ok: false; readonly error: string };

export type CelResultValue =
  | { readonly ok: true; readonly value: CelValue }
  | { readonly ok: false; readonly error: string };

export function compileCel(expression: string): CompiledCel {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(expression);
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
  const program = plan(celEnv(), parsed);
  return {
    ok: true,
    evaluate(event) {
      const result = program({ event: event as CelInput });
      return isCelError(result) ? { ok: false, error: result.message } : { ok: true, value: result };
    },
  };
}
