import { describe, expect, it } from "vitest";
import { describeFailure, failureText, unreachable } from "./api-failure.js";

describe("API failures in words", () => {
  it("says token refused for 401, with the API's message", () => {
    const failure = describeFailure(401, {
      error: "Unauthenticated",
      message: "The bearer token is not known.",
    });
    expect(failure.headline).toBe("Token refused");
    expect(failureText(failure)).toBe("Token refused: The bearer token is not known.");
  });

  it("names the field of a refusal", () => {
    expect(
      failureText(
        describeFailure(400, { error: "UnknownMetric", message: "no metric x", field: "metrics[1]" }),
      ),
    ).toBe("Request refused: no metric x (field: metrics[1])");
  });

  it("copes with a body that is not an ErrorResponse, an unknown status and no answer", () => {
    expect(failureText(describeFailure(502, "<html>"))).toBe(
      "The gateway failed: HTTP 502 without an explanation.",
    );
    expect(describeFailure(418, null).headline).toBe("Refused (HTTP 418)");
    expect(failureText(unreachable(new TypeError("Failed to fetch")))).toBe(
      "Gateway unreachable: No answer from the gateway (Failed to fetch).",
    );
  });
});
