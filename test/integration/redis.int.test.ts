import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { redisUrl } from "../env/config.js";

const redis = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
afterAll(async () => {
  await redis.quit();
});

describe("Redis through ioredis", () => {
  it("round-trips the structures live metrics use: hash fields with a TTL and an idempotent set", async () => {
    const key = `tally:test:${randomUUID()}`;
    await redis.hset(key, { count: "3", sum: "12.5" });
    await redis.hincrby(key, "count", 2);
    await redis.expire(key, 60);
    expect(await redis.hgetall(key)).toEqual({ count: "5", sum: "12.5" });
    const ttl = await redis.ttl(key);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(60);

    // The same window result written twice leaves one value: writes are idempotent per key.
    const windowKey = `${key}:window`;
    await redis.set(windowKey, "42", "EX", 60);
    await redis.set(windowKey, "42", "EX", 60);
    expect(await redis.get(windowKey)).toBe("42");
    await redis.del(key, windowKey);
    expect(await redis.exists(key)).toBe(0);
  });

  it("delivers pub/sub messages, which the gateway's live push relies on", async () => {
    const channel = `tally:test:${randomUUID()}`;
    const subscriber = new Redis(redisUrl);
    await subscriber.subscribe(channel);
    const received = new Promise<string>((resolve) =>
      subscriber.on("message", (_c, message) => resolve(message)),
    );
    await redis.publish(channel, "hello");
    expect(await received).toBe("hello");
    await subscriber.quit();
  });
});
