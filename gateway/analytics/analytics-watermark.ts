/**
 * A pipeline's watermark (thin I/O): the lowest of its partitions' watermarks, which the runtime's
 * Redis sink writes. Analytics answers use it, as queries do, to keep settled ranges cached for long.
 */
import type { Redis } from "ioredis";
import { redisPrefix, watermarksKey } from "../../contracts/redis/live-windows.js";

export async function readPipelineWatermark(
  redis: Redis | undefined,
  namespace: string,
  pipeline: string,
): Promise<number | undefined> {
  if (redis === undefined) return undefined;
  try {
    const byPartition = await redis.hgetall(watermarksKey(redisPrefix(namespace, pipeline)));
    const values = Object.values(byPartition).map(Number).filter(Number.isFinite);
    return values.length === 0 ? undefined : Math.min(...values);
  } catch {
    return undefined;
  }
}
