/**
 * Number and duration formatting for the human-readable reasons the autoscaler writes into the
 * Pipeline's status and Events. Fixed locale so reasons (and tests) do not depend on the host.
 */

const grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 0 });

/** A message count: `48,000`. */
export function formatCount(value: number): string {
  return grouped.format(Math.round(value));
}

/** A rate to three significant digits (`3,140/s`, `0.5/s`): rates are estimates, more digits would be noise. */
export function formatRate(perSecond: number): string {
  if (perSecond === 0) return "0/s";
  const magnitude = Math.floor(Math.log10(Math.abs(perSecond)));
  const step = 10 ** Math.max(magnitude - 2, -2);
  const rounded = Math.round(perSecond / step) * step;
  const text =
    Math.abs(rounded) >= 100 ? grouped.format(rounded) : String(Number.parseFloat(rounded.toPrecision(3)));
  return `${text}/s`;
}

/** Milliseconds as a Go-style duration, the way the spec writes them: `2m`, `1m30s`, `45s`, `500ms`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return "never";
  const sign = ms < 0 ? "-" : "";
  let rest = Math.round(Math.abs(ms));
  if (rest < 1000) return `${sign}${rest}ms`;
  rest = Math.round(rest / 1000);
  const hours = Math.floor(rest / 3600);
  const minutes = Math.floor((rest % 3600) / 60);
  const seconds = rest % 60;
  const parts = [
    hours > 0 ? `${hours}h` : "",
    minutes > 0 ? `${minutes}m` : "",
    seconds > 0 ? `${seconds}s` : "",
  ];
  return sign + parts.join("");
}

/** `1 replica`, `4 replicas`. */
export function replicasText(count: number): string {
  return `${count} ${count === 1 ? "replica" : "replicas"}`;
}
