import avro from "avsc";
import protobuf from "protobufjs";
import { describe, expect, it } from "vitest";
import { schemaEnvName } from "../../contracts/runtime-env.js";
import { DecodeFailure } from "./decode-failure.js";
import { createDecoder } from "./decoder.js";
import { envSchemaResolver, SchemaResolutionError } from "./schema-source.js";

const bytes = (text: string) => Buffer.from(text, "utf8");

describe("JSON decoder", () => {
  const decoder = createDecoder(
    {
      type: "json",
      jsonSchema: {
        type: "object",
        required: ["event_id", "ts"],
        properties: {
          event_id: { type: "string", minLength: 1 },
          ts: { type: "string", format: "date-time" },
        },
      },
    },
    () => {
      throw new Error("not used");
    },
  );

  it("decodes an object that satisfies the schema", () => {
    expect(decoder.decode(bytes('{"event_id":"a","ts":"2024-01-01T00:00:00Z"}'))).toEqual({
      event_id: "a",
      ts: "2024-01-01T00:00:00Z",
    });
  });

  it.each(["2024-03-01T12:34:56.789Z", "2024-03-01 12:34:56+02:00", "2016-12-31T23:59:60Z"])(
    "accepts the date-time %s",
    (ts) => {
      expect(decoder.decode(bytes(JSON.stringify({ event_id: "a", ts })))).toEqual({ event_id: "a", ts });
    },
  );

  it.each([
    [null, "decode", /empty message/],
    [bytes("{not json"), "decode", /not UTF-8 JSON/],
    [Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d]), "decode", /not UTF-8 JSON/],
    [bytes("[1,2]"), "decode", /expected a JSON object, got an array/],
    [bytes('{"ts":"2024-01-01T00:00:00Z"}'), "schema", /missing required property event_id/],
    [bytes('{"event_id":"a","ts":"yesterday"}'), "schema", /\/ts must match format "date-time"/],
    [bytes('{"event_id":"a","ts":"2023-02-29T00:00:00Z"}'), "schema", /\/ts must match format "date-time"/],
    [bytes('{"event_id":"a","ts":"2024-03-01T12:34:56"}'), "schema", /\/ts must match format "date-time"/],
  ])("refuses %#", (input, kind, message) => {
    const result = decoder.decode(input);
    expect(result).toBeInstanceOf(DecodeFailure);
    expect(result).toMatchObject({ kind, message: expect.stringMatching(message) });
  });
});

describe("Avro decoder", () => {
  const writer = {
    type: "record",
    name: "Click",
    fields: [
      { name: "event_id", type: "string" },
      { name: "ts", type: "long" },
    ],
  };
  const reader = {
    type: "record",
    name: "Click",
    fields: [
      { name: "event_id", type: "string" },
      { name: "ts", type: "long" },
      { name: "value", type: ["null", "double"], default: null },
    ],
  };
  const schemas: Record<string, string> = { writer: JSON.stringify(writer), reader: JSON.stringify(reader) };
  const resolve = (ref: { name: string; key: string }) => schemas[ref.key] ?? "";

  it("reads writer-schema bytes through the reader schema (evolution: a field added with a default)", () => {
    const decoder = createDecoder(
      {
        type: "avro",
        schemaConfigMapRef: { name: "s", key: "writer" },
        readerSchemaConfigMapRef: { name: "s", key: "reader" },
      },
      resolve,
    );
    const encoded = avro.Type.forSchema(writer as avro.Schema).toBuffer({
      event_id: "e",
      ts: 1_700_000_000_000,
    });
    expect({ ...(decoder.decode(encoded) as object) }).toEqual({
      event_id: "e",
      ts: 1_700_000_000_000,
      value: null,
    });
  });

  it("refuses truncated and trailing bytes", () => {
    const decoder = createDecoder(
      { type: "avro", schemaConfigMapRef: { name: "s", key: "writer" } },
      resolve,
    );
    const encoded = avro.Type.forSchema(writer as avro.Schema).toBuffer({ event_id: "e", ts: 1 });
    expect(decoder.decode(encoded.subarray(0, 2))).toMatchObject({ kind: "decode", message: /truncated/ });
    expect(decoder.decode(Buffer.concat([encoded, Buffer.from([0])]))).toMatchObject({
      kind: "decode",
      message: /trailing data/,
    });
  });

  it("refuses a reader schema that cannot read the writer's", () => {
    const incompatible = { type: "record", name: "Click", fields: [{ name: "other", type: "int" }] };
    expect(() =>
      createDecoder(
        {
          type: "avro",
          schemaConfigMapRef: { name: "s", key: "writer" },
          readerSchemaConfigMapRef: { name: "s", key: "bad" },
        },
        (ref) => (ref.key === "bad" ? JSON.stringify(incompatible) : (schemas[ref.key] ?? "")),
      ),
    ).toThrow(/readerSchemaConfigMapRef: the reader schema cannot read the writer schema/);
  });
});

describe("Protobuf decoder", () => {
  const proto = `syntax = "proto3";
package shop.v1;
message Click {
  string event_id = 1;
  int64 ts_ms = 2;
  optional double value = 3;
  User user = 4;
  enum Kind { PAGE_VIEW = 0; CLICK = 1; }
  Kind kind = 5;
}
message User { string id = 1; }`;
  const decoder = createDecoder(
    { type: "protobuf", schemaConfigMapRef: { name: "p", key: "click.proto" }, messageType: "shop.v1.Click" },
    () => proto,
  );
  const Click = protobuf.parse(proto, { keepCase: true }).root.lookupType("shop.v1.Click");

  it("decodes to plain objects with 64-bit integers as strings and enums by name", () => {
    const encoded = Click.encode(
      Click.create({ event_id: "e", ts_ms: 1_700_000_000_123, user: { id: "u" }, kind: 1 }),
    ).finish();
    expect(decoder.decode(encoded)).toEqual({
      event_id: "e",
      ts_ms: "1700000000123",
      user: { id: "u" },
      kind: "CLICK",
    });
  });

  it("refuses bytes that are not the message", () => {
    expect(decoder.decode(Buffer.from([0xff, 0xff, 0xff]))).toMatchObject({ kind: "decode" });
  });

  it("names the message type when it is not in the .proto", () => {
    expect(() =>
      createDecoder(
        { type: "protobuf", schemaConfigMapRef: { name: "p", key: "k" }, messageType: "shop.v1.Nope" },
        () => proto,
      ),
    ).toThrow(/shop\.v1\.Nope/);
  });
});

describe("envSchemaResolver", () => {
  const ref = { name: "click-schemas", key: "click.avsc" };

  it("derives the variable name from the ConfigMap name and key", () => {
    expect(schemaEnvName(ref)).toBe("TALLY_SCHEMA_CLICK_SCHEMAS_CLICK_AVSC");
  });

  it("reads inline text first, then a file", () => {
    expect(envSchemaResolver({ TALLY_SCHEMA_CLICK_SCHEMAS_CLICK_AVSC: "{}" })(ref, "f")).toBe("{}");
    expect(
      envSchemaResolver({ TALLY_SCHEMA_CLICK_SCHEMAS_CLICK_AVSC_FILE: "/x" }, (path) => `read ${path}`)(
        ref,
        "f",
      ),
    ).toBe("read /x");
  });

  it("says which variable to set when neither is there", () => {
    expect(() => envSchemaResolver({})(ref, "spec.format.schemaConfigMapRef")).toThrow(SchemaResolutionError);
    expect(() => envSchemaResolver({})(ref, "spec.format.schemaConfigMapRef")).toThrow(
      /spec\.format\.schemaConfigMapRef: ConfigMap click-schemas key click\.avsc .*TALLY_SCHEMA_CLICK_SCHEMAS_CLICK_AVSC/,
    );
  });
});
