/**
 * Whether a pipeline's live windows changed since the last look (pure). The runtime writes Redis only
 * after ClickHouse acknowledged the same results (runtime/sinks/redis-sink.ts), and every flush that
 * carries events moves a partition's watermark or adds a window instance; so the watermark hash plus each
 * watched window's index size and newest member is a cheap signature: three small reads per window, no
 * window instance read. A change of it is when a live-window rule is evaluated beside its interval.
 */

/** What one poll read for a pipeline: its watermarks and, per watched window, its index's size and newest member. */
export interface WindowPoll {
  readonly watermarks: Readonly<Record<string, string>>;
  readonly windows: ReadonlyMap<string, { readonly size: number; readonly newest: string | undefined }>;
}

/** The signature of each watched window. */
export function windowSignatures(poll: WindowPoll): Map<string, string> {
  const watermarks = Object.entries(poll.watermarks)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([field, value]) => `${field}=${value}`)
    .join(",");
  const out = new Map<string, string>();
  for (const [window, index] of poll.windows)
    out.set(window, `${watermarks}|${index.size}|${index.newest ?? ""}`);
  return out;
}

/**
 * The windows whose signature changed. A window seen for the first time has no change yet (it is the
 * baseline); one that was seen and now reads differently has.
 */
export function changedWindows(
  before: ReadonlyMap<string, string>,
  after: ReadonlyMap<string, string>,
): string[] {
  const changed: string[] = [];
  for (const [window, signature] of after) {
    const previous = before.get(window);
    if (previous !== undefined && previous !== signature) changed.push(window);
  }
  return changed;
}
