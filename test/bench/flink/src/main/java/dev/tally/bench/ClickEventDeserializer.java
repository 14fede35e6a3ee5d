package dev.tally.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.connector.kafka.source.reader.deserializer.KafkaRecordDeserializationSchema;
import org.apache.flink.util.Collector;
import org.apache.kafka.clients.consumer.ConsumerRecord;

/**
 * Decodes and validates a record against the example pipeline's JSON schema (required event_id, user_id,
 * type, ts; type in the enum; ts a date-time; latency_ms a number >= 0; value a number; event_id non-empty).
 * Invalid records are dropped (counted), as the runtime sends them to the dead-letter topic.
 */
final class ClickEventDeserializer implements KafkaRecordDeserializationSchema<ClickEvent> {
  private static final long serialVersionUID = 1L;
  private static final Set<String> TYPES = Set.of("page_view", "click", "add_to_cart", "purchase");
  static final AtomicLong records = new AtomicLong();
  static final AtomicLong invalid = new AtomicLong();
  private transient ObjectMapper mapper;

  @Override
  public void deserialize(ConsumerRecord<byte[], byte[]> record, Collector<ClickEvent> out) {
    ProcessCpu.markFirstRecord();
    records.incrementAndGet();
    if (mapper == null) mapper = new ObjectMapper();
    ClickEvent event = decode(record.value());
    if (event == null) invalid.incrementAndGet();
    else out.collect(event);
  }

  private ClickEvent decode(byte[] bytes) {
    if (bytes == null) return null;
    JsonNode node;
    try {
      node = mapper.readTree(bytes);
    } catch (IOException e) {
      return null;
    }
    if (node == null || !node.isObject()) return null;
    JsonNode eventId = node.get("event_id");
    JsonNode userId = node.get("user_id");
    JsonNode type = node.get("type");
    JsonNode ts = node.get("ts");
    if (!isText(eventId) || eventId.textValue().isEmpty() || !isText(userId) || !isText(type) || !isText(ts))
      return null;
    if (!TYPES.contains(type.textValue())) return null;
    JsonNode session = node.get("session_id");
    JsonNode url = node.get("url");
    if ((session != null && !session.isTextual()) || (url != null && !url.isTextual())) return null;
    JsonNode latency = node.get("latency_ms");
    JsonNode value = node.get("value");
    if (latency != null && (!latency.isNumber() || latency.doubleValue() < 0)) return null;
    if (value != null && !value.isNumber()) return null;
    ClickEvent e = new ClickEvent();
    try {
      e.ts = Instant.parse(ts.textValue()).toEpochMilli();
    } catch (DateTimeParseException ex) {
      return null;
    }
    e.eventId = eventId.textValue();
    e.userId = userId.textValue();
    e.type = type.textValue();
    e.url = url == null ? null : url.textValue();
    e.latencyMs = latency == null ? null : latency.doubleValue();
    e.value = value == null ? null : value.doubleValue();
    return e;
  }

  private static boolean isText(JsonNode node) {
    return node != null && node.isTextual();
  }

  @Override
  public TypeInformation<ClickEvent> getProducedType() {
    return TypeInformation.of(ClickEvent.class);
  }
}
