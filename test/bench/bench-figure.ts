/** One measured figure; `make bench` prints each as `BENCH <name>=<value> <unit>`. */
export interface BenchFigure {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
}

export function formatFigure(figure: BenchFigure): string {
  const digits = Math.abs(figure.value) >= 100 ? 0 : Math.abs(figure.value) >= 1 ? 2 : 4;
  return `BENCH ${figure.name}=${figure.value.toFixed(digits)} ${figure.unit}`;
}

/** Rate in units per second from a count and a duration measured with performance.now(). */
export function perSecond(count: number, elapsedMs: number): number {
  return elapsedMs <= 0 ? 0 : (count * 1000) / elapsedMs;
}
