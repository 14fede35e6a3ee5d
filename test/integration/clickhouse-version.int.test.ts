import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClickhouseSession } from "../../operator/clickhouse/clickhouse-session.js";
import { clickhouseUrl, stackConfig } from "../env/config.js";
import { type OldClickhouse, startOldClickhouse } from "../support/old-clickhouse-server.js";

let old: OldClickhouse;
beforeAll(async () => {
  old = await startOldClickhouse();
});
afterAll(async () => {
  await old?.stop();
});

describe("ClickHouse server version policy, against real servers", () => {
  it("refuses Debian's clickhouse-server 18.16 and says which version it found and which it needs", async () => {
    const session = ClickhouseSession.open({ url: old.url, username: old.username, password: old.password });
    try {
      expect(await session.checkVersion()).toEqual({
        supported: false,
        version: "18.16.1",
        message: "ClickHouse 18.16.1 is not supported; Tally needs 24.3 or newer",
      });
    } finally {
      await session.close();
    }
  });

  it("accepts the current engine of the local stack", async () => {
    const session = ClickhouseSession.open({
      url: clickhouseUrl,
      username: stackConfig.clickhouseUser,
      password: stackConfig.clickhousePassword,
    });
    try {
      const check = await session.checkVersion();
      expect(check.supported).toBe(true);
      expect(check.version).toMatch(/^2[6-9]\./);
    } finally {
      await session.close();
    }
  });
});
