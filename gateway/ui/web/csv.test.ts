import { describe, expect, it } from "vitest";
import { csvField, csvFileName, responseToCsv } from "./csv.js";

describe("CSV export", () => {
  it("quotes commas, quotes, line breaks and edge spaces; leaves plain text and numbers alone", () => {
    expect(csvField("plain")).toBe("plain");
    expect(csvField("a,b")).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField("two\nlines")).toBe('"two\nlines"');
    expect(csvField("cr\rhere")).toBe('"cr\rhere"');
    expect(csvField(" padded")).toBe('" padded"');
    expect(csvField(-3.5)).toBe("-3.5");
    expect(csvField(true)).toBe("true");
    expect(csvField(null)).toBe("");
    expect(csvField(undefined)).toBe("");
  });

  it("defuses text a spreadsheet would run as a formula", () => {
    expect(csvField('=HYPERLINK("x")')).toBe(`"'=HYPERLINK(""x"")"`);
    expect(csvField("+1")).toBe("'+1");
    expect(csvField("-1")).toBe("'-1");
    expect(csvField("@SUM(A1)")).toBe("'@SUM(A1)");
  });

  it("writes the header from the columns and one CRLF line per row, in column order", () => {
    const csv = responseToCsv({
      columns: [
        { name: "time", role: "time", type: "DateTime" },
        { name: "url", role: "dimension", type: "String" },
        { name: "events", role: "metric", type: "UInt64" },
      ],
      rows: [
        { events: 3, url: "/a,b", time: "2026-01-01T00:00:00.000Z" },
        { time: "2026-01-01T00:01:00.000Z", url: null, events: 0 },
      ],
    });
    expect(csv).toBe(
      'time,url,events\r\n2026-01-01T00:00:00.000Z,"/a,b",3\r\n2026-01-01T00:01:00.000Z,,0\r\n',
    );
  });

  it("makes a safe file name", () => {
    expect(csvFileName("click stream", "top/urls")).toBe("click_stream-top_urls.csv");
  });
});
