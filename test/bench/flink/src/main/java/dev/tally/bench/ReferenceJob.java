package dev.tally.bench;

import com.datadoghq.sketch.ddsketch.DDSketch;
import java.nio.file.Files;
import java.time.Duration;
import org.apache.datasketches.hll.HllSketch;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.serialization.SerializerConfigImpl;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.connector.kafka.source.KafkaSource;
import org.apache.flink.connector.kafka.source.enumerator.initializer.OffsetsInitializer;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.windowing.assigners.EventTimeSessionWindows;
import org.apache.flink.streaming.api.windowing.assigners.SlidingEventTimeWindows;
import org.apache.flink.streaming.api.windowing.assigners.TumblingEventTimeWindows;

/**
 * The example pipeline (examples/clickstream-pipeline.yaml) as a Flink user would write it: a local MiniCluster
 * with parallelism 1 reads the bench topic to its end, decodes and validates the JSON, drops duplicate event_ids
 * (10 min event-time horizon) and bots, and computes the three windows with bounded out-of-orderness 5 s,
 * allowed lateness 1 min and idleness 30 s, checkpointing every --checkpoint-ms; results go to SummarySink.
 *
 *   java -cp ... dev.tally.bench.ReferenceJob <brokers> <topic> <all|tumbling|sliding|session> <out.json> <checkpoint-ms>
 */
public final class ReferenceJob {
  private ReferenceJob() {}

  public static void main(String[] args) throws Exception {
    if (args.length != 5) {
      System.err.println("usage: ReferenceJob <brokers> <topic> <all|tumbling|sliding|session> <out.json> <checkpoint-ms>");
      System.exit(2);
    }
    String brokers = args[0];
    String topic = args[1];
    String windows = args[2];
    String out = args[3];
    long checkpointMs = Long.parseLong(args[4]);

    Configuration conf = new Configuration();
    conf.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
    conf.set(
        CheckpointingOptions.CHECKPOINTS_DIRECTORY,
        Files.createTempDirectory("tally-flink-bench-").toUri().toString());
    conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
    StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(1, conf);
    env.enableCheckpointing(checkpointMs, CheckpointingMode.EXACTLY_ONCE);
    SerializerConfigImpl serializers = (SerializerConfigImpl) env.getConfig().getSerializerConfig();
    serializers.registerTypeWithKryoSerializer(HllSketch.class, SketchSerializers.Hll.class);
    serializers.registerTypeWithKryoSerializer(DDSketch.class, SketchSerializers.DD.class);

    KafkaSource<ClickEvent> source =
        KafkaSource.<ClickEvent>builder()
            .setBootstrapServers(brokers)
            .setTopics(topic)
            .setGroupId("tally-flink-bench-" + ProcessHandle.current().pid() + "-" + System.currentTimeMillis())
            .setStartingOffsets(OffsetsInitializer.earliest())
            .setBounded(OffsetsInitializer.latest())
            .setDeserializer(new ClickEventDeserializer())
            .setProperty("max.partition.fetch.bytes", String.valueOf(4 * 1024 * 1024))
            .build();

    WatermarkStrategy<ClickEvent> watermarks =
        WatermarkStrategy.<ClickEvent>forBoundedOutOfOrderness(Duration.ofSeconds(5))
            .withTimestampAssigner((event, previous) -> event.ts)
            .withIdleness(Duration.ofSeconds(30));
    Duration lateness = Duration.ofMinutes(1);

    DataStream<ClickEvent> events =
        env.fromSource(source, watermarks, "clickstream")
            .keyBy(e -> e.eventId)
            .process(new Dedup(Duration.ofMinutes(10).toMillis()))
            .name("dedup event_id")
            .filter(e -> !e.userId.startsWith("bot-"))
            .name("drop_bots");

    DataStream<WindowOutput> results = null;
    if (windows.equals("all") || windows.equals("tumbling")) {
      DataStream<WindowOutput> minute =
          events
              .keyBy(e -> e.type)
              .window(TumblingEventTimeWindows.of(Duration.ofMinutes(1)))
              .allowedLateness(lateness)
              .aggregate(new Aggregates.MinuteAggregate(), new Aggregates.MinuteResult())
              .name("events_per_minute");
      results = minute;
    }
    if (windows.equals("all") || windows.equals("sliding")) {
      DataStream<WindowOutput> latency =
          events
              // The runtime groups a missing url as null; Flink keys cannot be null.
              .keyBy(e -> e.url == null ? "" : e.url)
              .window(SlidingEventTimeWindows.of(Duration.ofMinutes(5), Duration.ofMinutes(1)))
              .allowedLateness(lateness)
              .aggregate(new Aggregates.LatencyAggregate(), new Aggregates.LatencyResult())
              .name("page_latency");
      results = results == null ? latency : results.union(latency);
    }
    if (windows.equals("all") || windows.equals("session")) {
      DataStream<WindowOutput> sessions =
          events
              .keyBy(e -> e.userId)
              .window(EventTimeSessionWindows.withGap(Duration.ofMinutes(30)))
              .allowedLateness(lateness)
              .aggregate(new Aggregates.CountAggregate(), new Aggregates.SessionResult())
              .name("sessions");
      results = results == null ? sessions : results.union(sessions);
    }
    if (results == null) throw new IllegalArgumentException("windows must be all, tumbling, sliding or session: " + windows);
    results.sinkTo(new SummarySink(out)).name("summary");
    env.execute("tally-flink-reference");
  }
}
