/**
 * The page's calls to the gateway's API: every one with `Authorization: Bearer` from the session, JSON
 * in and out, a failure turned into words (api-failure.ts). A 401 anywhere sends the user back to the
 * token page with the refusal shown.
 */
import { type ApiFailure, describeFailure, unreachable } from "./api-failure.js";
import { tokenOf } from "./session.js";

export type ApiResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly failure: ApiFailure };

async function call<T>(method: "GET" | "POST", path: string, body?: unknown): Promise<ApiResult<T>> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${tokenOf() ?? ""}`,
    accept: "application/json",
  };
  if (body !== undefined) headers["content-type"] = "application/json";
  let response: Response;
  try {
    response = await fetch(path, {
      method,
      headers,
      cache: "no-store",
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch (error) {
    return { ok: false, failure: unreachable(error) };
  }
  const parsed: unknown = await response.json().catch(() => undefined);
  if (!response.ok) return { ok: false, failure: describeFailure(response.status, parsed) };
  return { ok: true, value: parsed as T };
}

const nsPath = (namespace: string, rest: string) =>
  `/api/v1/namespaces/${encodeURIComponent(namespace)}/${rest}`;

export const api = {
  get: <T>(namespace: string, rest: string) => call<T>("GET", nsPath(namespace, rest)),
  post: <T>(namespace: string, rest: string, body: unknown) => call<T>("POST", nsPath(namespace, rest), body),
};
