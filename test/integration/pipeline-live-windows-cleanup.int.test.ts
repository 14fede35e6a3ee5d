import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redisPrefix } from "../../contracts/redis/live-windows.js";
import { deleteKeysWithPrefix } from "../../operator/pipeline/pipeline-live-windows-cleanup.js";
import { redisUrl } from "../env/config.js";

// The operator's deletion of a deleted Pipeline's live windows, on the stack's Redis: every key under the
// pipeline's prefix goes, and a pipeline whose name only starts the same keeps all of its keys.

const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
const namespace = `lw-cleanup-${randomUUID().slice(0, 6)}`;

beforeAll(async () => {
  await redis.connect();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, `tally:{${namespace}/`);
  redis.disconnect();
});

describe("deleting a pipeline's live windows", () => {
  it("deletes every key of the pipeline (more than one SCAN page) and none of its neighbour's", async () => {
    const mine = redisPrefix(namespace, "clicks");
    const neighbour = redisPrefix(namespace, "clicks2");
    const pipeline = redis.pipeline();
    for (let i = 0; i < 2_500; i++) pipeline.hset(`${mine}:w:events:${i}:["page_view"]`, "t:0", "1|{}");
    pipeline.zadd(`${mine}:i:events`, 0, "0:[]");
    pipeline.hset(`${mine}:wm`, "t:0", "0");
    pipeline.hset(`${neighbour}:w:events:0:["click"]`, "t:0", "1|{}");
    pipeline.hset(`${neighbour}:wm`, "t:0", "0");
    await pipeline.exec();

    expect(await deleteKeysWithPrefix(redis, mine)).toBe(2_502);
    expect(await redis.keys(`${mine}*`)).toEqual([]);
    expect((await redis.keys(`${neighbour}*`)).sort()).toEqual(
      [`${neighbour}:w:events:0:["click"]`, `${neighbour}:wm`].sort(),
    );
    expect(await deleteKeysWithPrefix(redis, mine)).toBe(0);
  });
});
