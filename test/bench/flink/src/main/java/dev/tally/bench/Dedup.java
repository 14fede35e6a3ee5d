package dev.tally.bench;

import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;

/** Drops an event whose event_id was seen within the horizon (event time), as the example's dedup does. */
final class Dedup extends KeyedProcessFunction<String, ClickEvent, ClickEvent> {
  private static final long serialVersionUID = 1L;
  private final long horizonMs;
  private transient ValueState<Boolean> seen;

  Dedup(long horizonMs) {
    this.horizonMs = horizonMs;
  }

  @Override
  public void open(OpenContext context) {
    seen = getRuntimeContext().getState(new ValueStateDescriptor<>("seen", Boolean.class));
  }

  @Override
  public void processElement(ClickEvent event, Context ctx, Collector<ClickEvent> out) throws Exception {
    if (seen.value() != null) return;
    seen.update(Boolean.TRUE);
    ctx.timerService().registerEventTimeTimer(event.ts + horizonMs);
    out.collect(event);
  }

  @Override
  public void onTimer(long timestamp, OnTimerContext ctx, Collector<ClickEvent> out) {
    seen.clear();
  }
}
