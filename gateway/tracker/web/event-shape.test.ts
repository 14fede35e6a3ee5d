import { describe, expect, it } from "vitest";
import { defaultFieldMapping, fieldMappingOf, propertiesOfAttributes, shapeEvent } from "./event-shape.js";

const event = {
  eventId: "e-1",
  userId: "u-1",
  sessionId: "s-1",
  type: "add_to_cart",
  url: "https://shop.example.com/item",
  ts: "2026-01-02T03:04:05.678Z",
  properties: { value: 42, event_id: "spoofed", plan: "pro" },
};

describe("tracker event shape", () => {
  it("names the parts as the example clickstream pipeline does; a property cannot replace one", () => {
    expect(shapeEvent(event, defaultFieldMapping)).toEqual({
      event_id: "e-1",
      user_id: "u-1",
      session_id: "s-1",
      type: "add_to_cart",
      url: "https://shop.example.com/item",
      ts: "2026-01-02T03:04:05.678Z",
      value: 42,
      plan: "pro",
    });
  });

  it("follows a mapping: renamed keys, parts left out, properties nested", () => {
    const mapping = fieldMappingOf({ eventId: "id", sessionId: null, url: "page", properties: "props" });
    expect(shapeEvent(event, mapping)).toEqual({
      id: "e-1",
      user_id: "u-1",
      type: "add_to_cart",
      page: "https://shop.example.com/item",
      ts: "2026-01-02T03:04:05.678Z",
      props: { value: 42, event_id: "spoofed", plan: "pro" },
    });
    expect(() => fieldMappingOf({ userId: "" })).toThrow("fields.userId");
  });

  it("takes data-tally-* attributes as properties, decimal numbers as numbers", () => {
    const attributes = [
      { name: "data-tally-event", value: "add_to_cart" },
      { name: "data-tally-value", value: "42.5" },
      { name: "data-tally-product-id", value: "0042" },
      { name: "data-tally-qty", value: "-3" },
      { name: "data-tally-label", value: "1e3" },
      { name: "class", value: "buy" },
    ];
    expect(propertiesOfAttributes(attributes)).toEqual({
      value: 42.5,
      product_id: "0042",
      qty: -3,
      label: "1e3",
    });
  });
});
