/** The receiver's Redis connection: outages logged once each (not per reconnect), never a crash. */
import type { FastifyBaseLogger } from "fastify";
import Redis from "ioredis";

export function connectRedis(url: string, log: FastifyBaseLogger): Redis {
  // Auto-pipelining sends the accept scripts and acknowledgements of one tick in one round trip: the
  // workers then keep up with a flood instead of letting the stream grow to its bound.
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, enableOfflineQueue: false, enableAutoPipelining: true });
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) log.error({ err: { message: err.message } }, "redis unreachable: deliveries are answered 503 and /readyz is 503 until it is back");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info("redis reachable again");
    down = false;
  });
  return redis;
}
