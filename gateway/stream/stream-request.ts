/**
 * The stream's query parameters, parsed (pure): exactly one of `dashboard` (a name) and `query` (a JSON
 * QueryRequest, defaults applied as POST /query applies them), and an optional `filter` (a JSON
 * QueryFilter). Every refusal names the parameter, and the field inside it.
 */
import type { ErrorResponse, QueryFilter } from "../../api/v1alpha1/query.js";
import { formatProblems, validateQueryFilter, validateQueryRequest } from "../../api/v1alpha1/validation.js";
import type { ViewSource } from "./view-key.js";

export interface StreamParameters {
  readonly dashboard?: string;
  readonly query?: string;
  readonly filter?: string;
}

export type ParsedStreamRequest =
  | { readonly ok: true; readonly source: ViewSource; readonly filter: QueryFilter | undefined }
  | { readonly ok: false; readonly error: ErrorResponse };

const invalid = (message: string, field: string): ParsedStreamRequest => ({
  ok: false,
  error: { error: "InvalidRequest", message, field },
});

function parseJson(
  text: string,
  parameter: string,
): { ok: true; value: unknown } | { ok: false; message: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return {
      ok: false,
      message: `${parameter} is not JSON (${error instanceof Error ? error.message : String(error)}): URL-encode a JSON object`,
    };
  }
}

export function parseStreamRequest(parameters: StreamParameters): ParsedStreamRequest {
  const { dashboard, query, filter } = parameters;
  if ((dashboard === undefined) === (query === undefined))
    return invalid(
      "name exactly one of dashboard (a Dashboard's name) and query (a URL-encoded JSON QueryRequest)",
      dashboard === undefined ? "dashboard" : "query",
    );
  let parsedFilter: QueryFilter | undefined;
  if (filter !== undefined) {
    const json = parseJson(filter, "filter");
    if (!json.ok) return invalid(json.message, "filter");
    const checked = validateQueryFilter(json.value);
    if (!checked.ok) return invalid(formatProblems(checked.problems), checked.problems[0]?.path ?? "filter");
    parsedFilter = checked.value;
  }
  if (dashboard !== undefined)
    return { ok: true, source: { kind: "dashboard", name: dashboard }, filter: parsedFilter };
  const json = parseJson(query ?? "", "query");
  if (!json.ok) return invalid(json.message, "query");
  const checked = validateQueryRequest(json.value);
  if (!checked.ok) return invalid(formatProblems(checked.problems), checked.problems[0]?.path ?? "query");
  return { ok: true, source: { kind: "query", request: checked.value }, filter: parsedFilter };
}
