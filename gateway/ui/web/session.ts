/**
 * The bearer token for this tab: kept in sessionStorage (gone when the tab closes, never in the address,
 * never in localStorage shared across tabs), plus the last refusal to show on the token page.
 */
const tokenKey = "tally.token";
const refusalKey = "tally.refusal";

export const tokenOf = (): string | null => sessionStorage.getItem(tokenKey);

export function signIn(token: string): void {
  sessionStorage.setItem(tokenKey, token);
  sessionStorage.removeItem(refusalKey);
}

/** Forget the token; with a reason, the token page shows it. */
export function signOut(reason?: string): void {
  sessionStorage.removeItem(tokenKey);
  if (reason === undefined) sessionStorage.removeItem(refusalKey);
  else sessionStorage.setItem(refusalKey, reason);
}

export const lastRefusal = (): string | null => sessionStorage.getItem(refusalKey);
