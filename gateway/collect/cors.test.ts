import { describe, expect, it } from "vitest";
import { allowedOrigins, collectorOriginsAnnotation, corsGrant } from "./cors.js";

const pipeline = (annotation?: string) => ({
  metadata: {
    name: "p",
    ...(annotation === undefined ? {} : { annotations: { [collectorOriginsAnnotation]: annotation } }),
  },
});

describe("collector CORS", () => {
  it("grants only the listed origins, compared as browsers send them", () => {
    const allowed = allowedOrigins(pipeline(" https://Shop.example.com/ , http://localhost:3000"));
    expect([...allowed.origins]).toEqual(["https://shop.example.com", "http://localhost:3000"]);
    expect(corsGrant("https://shop.example.com", allowed)).toBe("https://shop.example.com");
    expect(corsGrant("http://localhost:3000", allowed)).toBe("http://localhost:3000");
    for (const origin of [
      "https://evil.example.com",
      "http://shop.example.com",
      "https://shop.example.com:8443",
      "https://shop.example.com.evil.com",
      "null",
      "",
    ])
      expect(corsGrant(origin, allowed), origin).toBeUndefined();
    expect(corsGrant(undefined, allowed)).toBeUndefined();
  });

  it("grants nothing without the annotation or without the pipeline", () => {
    expect(corsGrant("https://shop.example.com", allowedOrigins(pipeline()))).toBeUndefined();
    expect(corsGrant("https://shop.example.com", undefined)).toBeUndefined();
  });

  it("* grants any origin; entries that are not origins are ignored and named", () => {
    expect(corsGrant("https://any.example", allowedOrigins(pipeline("*")))).toBe("*");
    const allowed = allowedOrigins(
      pipeline("shop.example.com, https://a.example/path, ftp://b, https://c.example"),
    );
    expect(allowed.invalid).toEqual(["shop.example.com", "https://a.example/path", "ftp://b"]);
    expect([...allowed.origins]).toEqual(["https://c.example"]);
  });
});
