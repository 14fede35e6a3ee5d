package dev.tally.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;

/**
 * Discards the window results but keeps each window's latest firing, and at the end of input writes them with
 * the CPU used from the first record to the end (every thread of the JVM) to a small JSON file for the bench.
 */
final class SummarySink implements Sink<WindowOutput> {
  private static final long serialVersionUID = 1L;
  private final String path;

  SummarySink(String path) {
    this.path = path;
  }

  @Override
  public SinkWriter<WindowOutput> createWriter(WriterInitContext context) {
    return new Writer(path);
  }

  private static final class Writer implements SinkWriter<WindowOutput> {
    private final String path;
    private final Map<String, WindowOutput> latest = new LinkedHashMap<>();

    Writer(String path) {
      this.path = path;
    }

    @Override
    public void write(WindowOutput o, Context context) {
      latest.put(o.window + "|" + o.start + "|" + o.key, o);
    }

    @Override
    public void flush(boolean endOfInput) throws IOException {
      if (!endOfInput) return;
      long lastTicks = ProcessCpu.ticks();
      long lastNanos = System.nanoTime();
      StringBuilder json = new StringBuilder(1 << 20);
      json.append("{\"records\":").append(ClickEventDeserializer.records.get());
      json.append(",\"invalid\":").append(ClickEventDeserializer.invalid.get());
      json.append(",\"cpuTicks\":").append(lastTicks - ProcessCpu.firstRecordTicks);
      json.append(",\"wallMs\":").append((lastNanos - ProcessCpu.firstRecordNanos) / 1e6);
      json.append(",\"windows\":[");
      boolean first = true;
      for (WindowOutput o : latest.values()) {
        if (!first) json.append(',');
        first = false;
        json.append("{\"window\":\"").append(o.window).append("\",\"start\":").append(o.start);
        json.append(",\"end\":").append(o.end).append(",\"key\":\"").append(escape(o.key)).append('"');
        json.append(",\"events\":").append(o.events);
        number(json, "revenue", o.revenue);
        number(json, "users", o.users);
        number(json, "p50", o.p50);
        number(json, "p95", o.p95);
        number(json, "p99", o.p99);
        json.append('}');
      }
      json.append("]}\n");
      Files.writeString(Path.of(path), json);
    }

    private static void number(StringBuilder json, String name, double value) {
      if (!Double.isNaN(value)) json.append(",\"").append(name).append("\":").append(value);
    }

    private static String escape(String s) {
      return s == null ? "" : s.replace("\\", "\\\\").replace("\"", "\\\"");
    }

    @Override
    public void close() {}
  }
}
