package dev.tally.bench;

import com.datadoghq.sketch.ddsketch.DDSketch;
import com.datadoghq.sketch.ddsketch.DDSketches;
import org.apache.datasketches.hll.HllSketch;
import org.apache.datasketches.hll.TgtHllType;
import org.apache.datasketches.hll.Union;
import org.apache.flink.api.common.functions.AggregateFunction;
import org.apache.flink.streaming.api.functions.windowing.ProcessWindowFunction;
import org.apache.flink.streaming.api.windowing.windows.TimeWindow;
import org.apache.flink.util.Collector;

/** The example pipeline's aggregations, with the sketches a Flink user would pick. */
final class Aggregates {
  private Aggregates() {}

  /** HLL precision and DDSketch relative accuracy: the runtime's (contracts/windows). */
  static final int HLL_LG_K = 14;
  static final double DDSKETCH_ALPHA = 0.01;

  /** events_per_minute: count, uniq(user_id), sum(value). */
  public static class MinuteAcc {
    public long count;
    public double sum;
    public boolean hasSum;
    public HllSketch users = new HllSketch(HLL_LG_K, TgtHllType.HLL_8);

    public MinuteAcc() {}
  }

  static final class MinuteAggregate implements AggregateFunction<ClickEvent, MinuteAcc, MinuteAcc> {
    private static final long serialVersionUID = 1L;

    @Override
    public MinuteAcc createAccumulator() {
      return new MinuteAcc();
    }

    @Override
    public MinuteAcc add(ClickEvent e, MinuteAcc acc) {
      acc.count++;
      acc.users.update(e.userId);
      if (e.value != null) {
        acc.sum += e.value;
        acc.hasSum = true;
      }
      return acc;
    }

    @Override
    public MinuteAcc getResult(MinuteAcc acc) {
      return acc;
    }

    @Override
    public MinuteAcc merge(MinuteAcc a, MinuteAcc b) {
      Union union = new Union(HLL_LG_K);
      union.update(a.users);
      union.update(b.users);
      a.users = union.getResult(TgtHllType.HLL_8);
      a.count += b.count;
      a.sum += b.sum;
      a.hasSum |= b.hasSum;
      return a;
    }
  }

  /** page_latency: quantiles(latency_ms) 0.5, 0.95, 0.99. */
  static final class LatencyAggregate implements AggregateFunction<ClickEvent, DDSketch, DDSketch> {
    private static final long serialVersionUID = 1L;

    @Override
    public DDSketch createAccumulator() {
      return DDSketches.unboundedDense(DDSKETCH_ALPHA);
    }

    @Override
    public DDSketch add(ClickEvent e, DDSketch acc) {
      if (e.latencyMs != null) acc.accept(e.latencyMs);
      return acc;
    }

    @Override
    public DDSketch getResult(DDSketch acc) {
      return acc;
    }

    @Override
    public DDSketch merge(DDSketch a, DDSketch b) {
      a.mergeWith(b);
      return a;
    }
  }

  /** sessions: count. */
  static final class CountAggregate implements AggregateFunction<ClickEvent, Long, Long> {
    private static final long serialVersionUID = 1L;

    @Override
    public Long createAccumulator() {
      return 0L;
    }

    @Override
    public Long add(ClickEvent e, Long acc) {
      return acc + 1;
    }

    @Override
    public Long getResult(Long acc) {
      return acc;
    }

    @Override
    public Long merge(Long a, Long b) {
      return a + b;
    }
  }

  private static WindowOutput output(String window, TimeWindow w, String key) {
    WindowOutput o = new WindowOutput();
    o.window = window;
    o.start = w.getStart();
    o.end = w.getEnd();
    o.key = key;
    return o;
  }

  static final class MinuteResult extends ProcessWindowFunction<MinuteAcc, WindowOutput, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(String key, Context ctx, Iterable<MinuteAcc> accs, Collector<WindowOutput> out) {
      for (MinuteAcc acc : accs) {
        WindowOutput o = output("events_per_minute", ctx.window(), key);
        o.events = acc.count;
        o.users = acc.users.getEstimate();
        o.revenue = acc.hasSum ? acc.sum : Double.NaN;
        out.collect(o);
      }
    }
  }

  static final class LatencyResult extends ProcessWindowFunction<DDSketch, WindowOutput, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(String key, Context ctx, Iterable<DDSketch> sketches, Collector<WindowOutput> out) {
      for (DDSketch s : sketches) {
        WindowOutput o = output("page_latency", ctx.window(), key);
        o.events = (long) s.getCount();
        if (!s.isEmpty()) {
          double[] q = s.getValuesAtQuantiles(new double[] {0.5, 0.95, 0.99});
          o.p50 = q[0];
          o.p95 = q[1];
          o.p99 = q[2];
        }
        out.collect(o);
      }
    }
  }

  static final class SessionResult extends ProcessWindowFunction<Long, WindowOutput, String, TimeWindow> {
    private static final long serialVersionUID = 1L;

    @Override
    public void process(String key, Context ctx, Iterable<Long> counts, Collector<WindowOutput> out) {
      for (Long count : counts) {
        WindowOutput o = output("sessions", ctx.window(), key);
        o.events = count;
        out.collect(o);
      }
    }
  }
}
