/**
 * Who the events are about: an anonymous id generated once and kept in localStorage (so it survives
 * reloads and visits), replaced by the id given to `identify` (kept too, until `reset`), and a session
 * id per tab (sessionStorage) renewed after `sessionIdleMs` without an event. Storage that throws
 * (disabled cookies, some private modes) falls back to memory: ids then last as long as the page.
 */
import { randomId } from "./random-id.js";

export const storageKeys = {
  anonymousId: "tally.anonymous_id",
  userId: "tally.user_id",
  session: "tally.session",
} as const;

interface KeyValueStore {
  get(key: string): string | null;
  set(key: string, value: string): void;
  remove(key: string): void;
}

function storeOf(storage: () => Storage): KeyValueStore {
  const memory = new Map<string, string>();
  const attempt = <T>(use: (s: Storage) => T, fallback: () => T): T => {
    try {
      return use(storage());
    } catch {
      return fallback();
    }
  };
  return {
    get: (key) =>
      attempt(
        (s) => s.getItem(key),
        () => memory.get(key) ?? null,
      ),
    set: (key, value) =>
      attempt(
        (s) => s.setItem(key, value),
        () => void memory.set(key, value),
      ),
    remove: (key) =>
      attempt(
        (s) => s.removeItem(key),
        () => void memory.delete(key),
      ),
  };
}

export class VisitorIdentity {
  private readonly local = storeOf(() => window.localStorage);
  private readonly session = storeOf(() => window.sessionStorage);

  constructor(private readonly sessionIdleMs: number) {}

  /** The identified user, else the anonymous id (made on first use). */
  userId(): string {
    return this.local.get(storageKeys.userId) ?? this.anonymousId();
  }

  anonymousId(): string {
    const existing = this.local.get(storageKeys.anonymousId);
    if (existing !== null && existing !== "") return existing;
    const made = randomId();
    this.local.set(storageKeys.anonymousId, made);
    return made;
  }

  identify(userId: string): void {
    if (typeof userId !== "string" || userId === "")
      throw new Error("tally.identify: id must be a non-empty string");
    this.local.set(storageKeys.userId, userId);
  }

  /** Forgets the identified user and starts a new anonymous id and session (a log-out). */
  reset(): void {
    this.local.remove(storageKeys.userId);
    this.local.remove(storageKeys.anonymousId);
    this.session.remove(storageKeys.session);
  }

  /** The tab's session id at `nowMs`, renewed after the idle gap; touching it extends the session. */
  sessionId(nowMs: number): string {
    const stored = this.session.get(storageKeys.session);
    const [id, last] = stored?.split(" ") ?? [];
    const current =
      id !== undefined && id !== "" && nowMs - Number(last) < this.sessionIdleMs ? id : randomId();
    this.session.set(storageKeys.session, `${current} ${nowMs}`);
    return current;
  }
}
