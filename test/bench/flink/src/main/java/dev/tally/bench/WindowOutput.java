package dev.tally.bench;

/** A fired window's final figures; fields a window type does not compute stay NaN or 0. */
public class WindowOutput {
  public String window;
  public long start;
  public long end;
  public String key;
  public long events;
  public double revenue = Double.NaN;
  public double users = Double.NaN;
  public double p50 = Double.NaN;
  public double p95 = Double.NaN;
  public double p99 = Double.NaN;

  public WindowOutput() {}
}
