package dev.tally.bench;

/** One validated clickstream event, as the runtime maps it (a Flink POJO: public fields, no-arg constructor). */
public class ClickEvent {
  public String eventId;
  public String userId;
  public String type;
  /** Null when absent, as the runtime's nullable String. */
  public String url;
  /** Event time, epoch ms. */
  public long ts;
  /** Null when absent. */
  public Double latencyMs;
  /** Null when absent. */
  public Double value;

  public ClickEvent() {}
}
