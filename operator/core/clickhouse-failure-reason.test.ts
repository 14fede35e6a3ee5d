import { describe, expect, it } from "vitest";
import { clickhouseFailureReason, UnsupportedServerError } from "./clickhouse-failure-reason.js";
import { reasons } from "./conditions.js";
import { SecretNotFoundError } from "./secrets.js";

describe("clickhouseFailureReason", () => {
  it.each([
    [new SecretNotFoundError("spec.sink: Secret ns/ch does not exist"), reasons.SecretNotFound],
    [new UnsupportedServerError("ClickHouse 23.8 is not supported"), reasons.ClickHouseVersionUnsupported],
    [new Error("connect ECONNREFUSED 127.0.0.1:8123"), reasons.ClickHouseUnavailable],
    ["not even an Error", reasons.ClickHouseUnavailable],
  ])("%s -> %s", (error, reason) => {
    expect(clickhouseFailureReason(error)).toBe(reason);
  });
});
