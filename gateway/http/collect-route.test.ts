import { Writable } from "node:stream";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { PipelineObject } from "../../api/v1alpha1/objects.js";
import type { KafkaConnection } from "../../contracts/kafka/kafka-connection.js";
import { buildTokenTable } from "../auth/token-table.js";
import { Collector } from "../collect/collector.js";
import { collectorOriginsAnnotation } from "../collect/cors.js";
import type { EventSink, OutgoingEvent } from "../collect/event-producer.js";
import { createLogger } from "../logger.js";
import type { QueryService } from "../query/query-service.js";
import { buildApp, type GatewayApp } from "./app.js";

// The collector's HTTP shell in-process (fastify's inject) with a recording stand-in for Kafka: what
// reaches the sink, and what the client gets for each refusal. The real producer is tested on the
// stack (test/integration/gateway-collector.int.test.ts).

const b64 = (s: string) => Buffer.from(s).toString("base64");
const tokens = { writer: "writer-token-1", reader: "reader-token-2", writeOnly: "wo-token-3" };
const { table } = buildTokenTable([
  {
    ref: { namespace: "tally", name: "writer" },
    data: { token: b64(tokens.writer), namespaces: b64("shop"), scopes: b64("read,write") },
  },
  {
    ref: { namespace: "tally", name: "reader" },
    data: { token: b64(tokens.reader), namespaces: b64("shop") },
  },
  {
    ref: { namespace: "tally", name: "wo" },
    data: { token: b64(tokens.writeOnly), namespaces: b64("shop"), scopes: b64("write") },
  },
]);

const spec = (
  format: unknown = { type: "json", jsonSchema: { type: "object", required: ["event_id"] } },
) => ({
  source: { kafka: { brokers: ["127.0.0.1:9092"], topics: ["clicks", "other"] } },
  format,
  fields: [
    { name: "event_id", type: "String" },
    { name: "user_id", type: "String", nullable: true },
    { name: "ts", type: "DateTime64(3)" },
  ],
  eventTime: { field: "ts" },
  dedup: { field: "event_id" },
  sink: { clickhouse: { connectionSecretRef: { name: "ch" }, table: "clicks" } },
});
const pipelines: PipelineObject[] = [
  {
    metadata: {
      name: "clicks",
      namespace: "shop",
      annotations: { [collectorOriginsAnnotation]: "https://shop.example.com" },
    },
    spec: spec(),
  },
  {
    metadata: { name: "avro", namespace: "shop" },
    spec: spec({ type: "avro", schemaConfigMapRef: { name: "s", key: "k" } }),
  },
];

class RecordingSink implements EventSink {
  readonly sent: { topic: string; events: readonly OutgoingEvent[] }[] = [];
  failWith: Error | undefined;
  async send(_connection: KafkaConnection, topic: string, events: readonly OutgoingEvent[]) {
    if (this.failWith !== undefined) throw this.failWith;
    this.sent.push({ topic, events });
  }
  async close() {}
}

const noQueries: QueryService = {
  sources: async () => ({ sources: [], unusable: [] }),
  query: async () => {
    throw new Error("not used");
  },
};

let app: GatewayApp;
let sink: RecordingSink;
let logText: string;
beforeEach(async () => {
  sink = new RecordingSink();
  logText = "";
  const logger = createLogger(
    new Writable({
      write: (chunk, _e, done) => {
        logText += String(chunk);
        done();
      },
    }),
    "debug",
  );
  app = await buildApp({
    service: noQueries,
    tokens: () => table,
    rateLimitPerMinute: 1000,
    logger,
    collector: new Collector({ snapshot: () => ({ pipelines }), sink, logger, retryAfterSeconds: 7 }),
  });
});
afterEach(async () => app.close());

const url = (name = "clicks", ns = "shop") => `/api/v1/namespaces/${ns}/pipelines/${name}/events`;
const send = (body: unknown, token = tokens.writer, headers: Record<string, string> = {}, path = url()) =>
  app.inject({
    method: "POST",
    url: path,
    payload: typeof body === "string" ? body : JSON.stringify(body),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
  });

describe("collector route", () => {
  it("writes a batch to the first topic keyed by user_id, else the event id, and answers 202", async () => {
    const events = [
      { event_id: "e1", user_id: "u1" },
      { event_id: "e2", user_id: null },
    ];
    const reply = await send({ events });
    expect(reply.statusCode).toBe(202);
    expect(reply.json()).toEqual({ accepted: 2 });
    expect(sink.sent).toEqual([
      {
        topic: "clicks",
        events: [
          { key: "u1", value: JSON.stringify(events[0]) },
          { key: "e2", value: JSON.stringify(events[1]) },
        ],
      },
    ]);
    expect((await send({ event_id: "e3" })).json()).toEqual({ accepted: 1 });
  });

  it("refuses the whole batch for one invalid event, naming each problem, and writes nothing", async () => {
    const reply = await send({ events: [{ event_id: "ok" }, { user_id: "u" }, 5] });
    expect(reply.statusCode).toBe(400);
    expect(reply.json()).toEqual({
      error: "InvalidEvents",
      message:
        "2 of 3 events do not match pipeline clicks's schema, so none was written; first: events[1]/event_id is required.",
      field: "events[1]/event_id",
      errors: [
        { path: "events[1]/event_id", message: "is required" },
        { path: "events[2]", message: "expected a JSON object, got number" },
      ],
    });
    expect(sink.sent).toEqual([]);
  });

  it("answers 413 saying the limit for a body over 1 MiB or a batch over 500 events", async () => {
    // Over the app's 256 KiB limit for queries, under the collector's own.
    expect((await send({ event_id: "x".repeat(600 * 1024) })).statusCode).toBe(202);
    sink.sent.length = 0;
    const big = await send({ event_id: "x".repeat(1024 * 1024) });
    expect(big.statusCode).toBe(413);
    expect(big.json().message).toContain("limit of 1048576 bytes (1 MiB)");
    const many = await send({ events: Array.from({ length: 501 }, (_, i) => ({ event_id: `e${i}` })) });
    expect(many.statusCode).toBe(413);
    expect(many.json().message).toContain("at most 500 per request");
    expect(sink.sent).toEqual([]);
  });

  it("needs the write scope (403 naming it), a token for the namespace, and a token at all", async () => {
    const readOnly = await send({ event_id: "e" }, tokens.reader);
    expect(readOnly.statusCode).toBe(403);
    expect(readOnly.json()).toMatchObject({
      error: "MissingScope",
      message: expect.stringContaining('"write" scope'),
    });
    expect((await send({ event_id: "e" }, tokens.writer, {}, url("clicks", "other"))).statusCode).toBe(403);
    expect((await send({ event_id: "e" }, "nope")).statusCode).toBe(401);
    // A write-only token cannot read.
    const sources = await app.inject({
      url: "/api/v1/namespaces/shop/sources",
      headers: { authorization: `Bearer ${tokens.writeOnly}` },
    });
    expect(sources.statusCode).toBe(403);
    expect((await send({ event_id: "e" }, tokens.writeOnly)).statusCode).toBe(202);
  });

  it("answers 404 for an unknown pipeline and 415 for a pipeline that does not read JSON", async () => {
    expect((await send({ event_id: "e" }, tokens.writer, {}, url("nope"))).statusCode).toBe(404);
    const avro = await send({ event_id: "e" }, tokens.writer, {}, url("avro"));
    expect(avro.statusCode).toBe(415);
    expect(avro.json().message).toContain("takes JSON pipelines only");
  });

  it("answers 503 with Retry-After when Kafka does not acknowledge", async () => {
    sink.failWith = new Error("Connection error: connect ECONNREFUSED");
    const reply = await send({ event_id: "e" });
    expect(reply.statusCode).toBe(503);
    expect(reply.headers["retry-after"]).toBe("7");
    expect(reply.json()).toMatchObject({ error: "Unavailable" });
  });

  it("grants CORS to the pipeline's origins only, on the preflight and on every answer", async () => {
    const preflight = (origin: string, name = "clicks") =>
      app.inject({
        method: "OPTIONS",
        url: url(name),
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "authorization,content-type",
        },
      });
    const granted = await preflight("https://shop.example.com");
    expect(granted.statusCode).toBe(204);
    expect(granted.headers).toMatchObject({
      "access-control-allow-origin": "https://shop.example.com",
      "access-control-allow-methods": "POST",
      "access-control-allow-headers": "authorization, content-type",
      vary: "Origin",
    });
    for (const refused of [
      await preflight("https://evil.example.com"),
      await preflight("https://shop.example.com", "avro"),
    ]) {
      expect(refused.statusCode).toBe(204);
      expect(refused.headers["access-control-allow-origin"]).toBeUndefined();
    }
    const ok = await send({ event_id: "e" }, tokens.writer, { origin: "https://shop.example.com" });
    expect(ok.headers["access-control-allow-origin"]).toBe("https://shop.example.com");
    const invalid = await send({}, tokens.writer, { origin: "https://shop.example.com" });
    expect(invalid.statusCode).toBe(400);
    expect(invalid.headers["access-control-allow-origin"]).toBe("https://shop.example.com");
    const wrong = await send({ event_id: "e" }, tokens.writer, { origin: "https://evil.example.com" });
    expect(wrong.statusCode).toBe(202);
    expect(wrong.headers["access-control-allow-origin"]).toBeUndefined();
  });

  describe("text/plain envelope (the tracker's beacons)", () => {
    const beacon = (body: unknown, path = url(), headers: Record<string, string> = {}) =>
      app.inject({
        method: "POST",
        url: path,
        payload: typeof body === "string" ? body : JSON.stringify(body),
        headers: { "content-type": "text/plain;charset=UTF-8", ...headers },
      });

    it("takes the token from the body: no Authorization header, no preflight needed", async () => {
      const events = [{ event_id: "b1", user_id: "u1" }];
      const reply = await beacon({ token: tokens.writeOnly, events }, url(), {
        origin: "https://shop.example.com",
      });
      expect(reply.statusCode, reply.body).toBe(202);
      expect(reply.headers["access-control-allow-origin"]).toBe("https://shop.example.com");
      expect(sink.sent).toEqual([
        { topic: "clicks", events: [{ key: "u1", value: JSON.stringify(events[0]) }] },
      ]);
      // The request log names the token's Secret, never the token.
      expect(logText).toContain('"token":"tally/wo"');
      expect(logText).not.toContain(tokens.writeOnly);
    });

    it("applies the header's rules to the envelope's token: write scope, namespace, known token", async () => {
      const events = [{ event_id: "b2" }];
      const readOnly = await beacon({ token: tokens.reader, events });
      expect(readOnly.statusCode).toBe(403);
      expect(readOnly.json().message).toContain('"write" scope');
      expect((await beacon({ token: tokens.writer, events }, url("clicks", "other"))).statusCode).toBe(403);
      expect((await beacon({ token: "nope", events })).statusCode).toBe(401);
      const noToken = await beacon({ events });
      expect(noToken.statusCode).toBe(400);
      expect(noToken.json().field).toBe("token");
      // Checked as any batch: one invalid event refuses it, with the path.
      const invalid = await beacon({ token: tokens.writer, events: [{ event_id: "ok" }, {}] });
      expect(invalid.statusCode).toBe(400);
      expect(invalid.json().field).toBe("events[1]/event_id");
      expect(sink.sent).toEqual([]);
      expect(logText).not.toContain(tokens.writer);
    });

    it("is read by the collect route only: a write token in an envelope cannot query", async () => {
      const query = await app.inject({
        method: "POST",
        url: "/api/v1/namespaces/shop/query",
        payload: JSON.stringify({ token: tokens.writer, metrics: ["count"] }),
        headers: { "content-type": "text/plain" },
      });
      expect(query.statusCode).toBe(401);
      // Nor with the header: the write scope does not include read.
      const withHeader = await app.inject({
        method: "POST",
        url: "/api/v1/namespaces/shop/query",
        payload: JSON.stringify({ metrics: ["count"] }),
        headers: { authorization: `Bearer ${tokens.writeOnly}`, "content-type": "application/json" },
      });
      expect(withHeader.statusCode).toBe(403);
      expect(withHeader.json().error).toBe("MissingScope");
    });
  });
});
