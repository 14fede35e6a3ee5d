/**
 * Polls the live windows that live-window rules watch, every `pollMs` (250 ms), one Redis pipeline per
 * watched pipeline however many rules watch it (the watermark hash, and per window the index's size and
 * newest member: window-change.ts), and calls the rules of the windows that changed. A rule held by
 * another replica is not watched here; a pipeline no rule watches is not polled.
 */
import type { Redis } from "ioredis";
import { liveWindowIndexKey, redisPrefix, watermarksKey } from "../../contracts/redis/live-windows.js";
import { changedWindows, type WindowPoll, windowSignatures } from "./window-change.js";

export const defaultWindowPollMs = 250;

type Listener = () => void;

interface Watched {
  readonly namespace: string;
  readonly pipeline: string;
  /** Window → its listeners. */
  readonly listeners: Map<string, Set<Listener>>;
  signatures: Map<string, string>;
}

export class WindowChangeWatcher {
  private readonly pipelines = new Map<string, Watched>();
  private timer: NodeJS.Timeout | undefined;
  private polling = false;

  constructor(
    private readonly redis: Redis,
    private readonly onError: (error: unknown, pipeline: string) => void,
    private readonly pollMs = defaultWindowPollMs,
  ) {}

  /** Calls `listener` on each change of the window; answers the function that stops it. */
  watch(namespace: string, pipeline: string, window: string, listener: Listener): () => void {
    const key = `${namespace}/${pipeline}`;
    let watched = this.pipelines.get(key);
    if (watched === undefined) {
      watched = { namespace, pipeline, listeners: new Map(), signatures: new Map() };
      this.pipelines.set(key, watched);
    }
    const listeners = watched.listeners.get(window) ?? new Set<Listener>();
    watched.listeners.set(window, listeners);
    listeners.add(listener);
    this.timer ??= setInterval(() => void this.pollAll(), this.pollMs);
    const entry = watched;
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) {
        entry.listeners.delete(window);
        entry.signatures.delete(window);
      }
      if (entry.listeners.size === 0) this.pipelines.delete(key);
      if (this.pipelines.size === 0) this.stop();
    };
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One round; a round still running when the next is due is not overlapped. */
  private async pollAll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all([...this.pipelines.values()].map((w) => this.poll(w)));
    } finally {
      this.polling = false;
    }
  }

  private async poll(watched: Watched): Promise<void> {
    const prefix = redisPrefix(watched.namespace, watched.pipeline);
    const windows = [...watched.listeners.keys()];
    const batch = this.redis.pipeline().hgetall(watermarksKey(prefix));
    for (const window of windows) {
      const index = liveWindowIndexKey(prefix, window);
      batch.zcard(index).zrange(index, "-1", "-1");
    }
    let replies: [Error | null, unknown][];
    try {
      replies = (await batch.exec()) ?? [];
      const failed = replies.find(([error]) => error !== null);
      if (failed?.[0]) throw failed[0];
    } catch (error) {
      this.onError(error, `${watched.namespace}/${watched.pipeline}`);
      return;
    }
    const poll: WindowPoll = {
      watermarks: (replies[0]?.[1] ?? {}) as Record<string, string>,
      windows: new Map(
        windows.map((window, i) => [
          window,
          {
            size: Number(replies[1 + 2 * i]?.[1] ?? 0),
            newest: (replies[2 + 2 * i]?.[1] as string[] | undefined)?.[0],
          },
        ]),
      ),
    };
    const after = windowSignatures(poll);
    const changed = changedWindows(watched.signatures, after);
    watched.signatures = after;
    for (const window of changed) for (const listener of watched.listeners.get(window) ?? []) listener();
  }
}
