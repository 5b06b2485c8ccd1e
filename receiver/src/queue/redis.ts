/**
 * The receiver's Redis: one server (REDIS_URL), a master found through Sentinel (REDIS_SENTINELS,
 * failovers followed) or a Cluster (REDIS_CLUSTER_NODES). Outages are logged once each (not per
 * reconnect) and never crash the process.
 */
import type { FastifyBaseLogger } from "fastify";
import Redis, { Cluster, RedisOptions } from "ioredis";

export interface HostPort {
  host: string;
  port: number;
}

export type RedisTopology =
  | { kind: "single"; url: string }
  | { kind: "sentinel"; sentinels: HostPort[]; name: string; sentinelUsername?: string; sentinelPassword?: string }
  | { kind: "cluster"; nodes: HostPort[] };

export interface RedisConfig {
  topology: RedisTopology;
  /** ACL user and password of the data nodes (sentinel and cluster; a REDIS_URL carries its own). */
  username?: string;
  password?: string;
  /** TLS to the data nodes and the sentinels (sentinel and cluster; a REDIS_URL says rediss:). */
  tls: boolean;
  /** Namespace of every key (REDIS_KEY_PREFIX). */
  keyPrefix: string;
  /** Streams the events are spread over (REDIS_STREAM_PARTITIONS). */
  partitions: number;
  /** Replicas that must hold an accepted event before its 2xx (REDIS_WAIT_REPLICAS; 0: none). */
  waitReplicas: number;
  waitTimeoutMs: number;
  /** How long an accept interrupted by a failover or a blip waits for Redis before the delivery gets 503. */
  failoverWaitMs: number;
}

/** What the stream queue and the operator commands need of a connection: a server or a cluster. */
export type RedisClient = Redis | Cluster;

/** Where a topology points, for messages: hosts and ports, never a password. */
export function describeTopology(topology: RedisTopology): string {
  const list = (nodes: HostPort[]) => nodes.map((n) => `${n.host}:${n.port}`).join(",");
  if (topology.kind === "single") {
    const parsed = new URL(topology.url);
    return `${parsed.hostname}:${parsed.port || 6379}`;
  }
  if (topology.kind === "sentinel") return `master ${topology.name} via sentinels ${list(topology.sentinels)}`;
  return `cluster ${list(topology.nodes)}`;
}

/**
 * A connection for `config`. `options` tune the data-node connections (the server asks for fast
 * failure; the operator commands for no reconnection).
 */
export function createRedis(config: RedisConfig, options: RedisOptions = {}): RedisClient {
  const { topology } = config;
  const auth = { ...(config.username ? { username: config.username } : {}), ...(config.password ? { password: config.password } : {}) };
  const tls = config.tls ? { tls: {} } : {};
  // A master demoted by a failover answers writes with READONLY: reconnect (to the new master) and resend.
  const reconnectOnError = (err: Error) => (err.message.startsWith("READONLY") ? 2 : false);
  if (topology.kind === "single") return new Redis(topology.url, { ...options, ...auth, reconnectOnError });
  if (topology.kind === "sentinel") {
    return new Redis({
      ...options,
      ...auth,
      ...tls,
      reconnectOnError,
      sentinels: topology.sentinels,
      name: topology.name,
      ...(topology.sentinelUsername ? { sentinelUsername: topology.sentinelUsername } : {}),
      ...(topology.sentinelPassword ? { sentinelPassword: topology.sentinelPassword } : {}),
      ...(config.tls ? { enableTLSForSentinelMode: true, sentinelTLS: {} } : {}),
      // Subscribes to the sentinels' +switch-master: a failover is followed at once, not at the next error.
      failoverDetector: true,
    });
  }
  const { enableOfflineQueue, enableAutoPipelining, lazyConnect, retryStrategy, ...nodeOptions } = options;
  return new Cluster(topology.nodes, {
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    ...(enableAutoPipelining !== undefined ? { enableAutoPipelining } : {}),
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(retryStrategy === undefined ? {} : { clusterRetryStrategy: retryStrategy }),
    redisOptions: { ...nodeOptions, ...auth, ...tls, reconnectOnError },
  });
}

/**
 * Another connection like `redis` whose commands may wait `commandTimeoutMs` for a reply: a blocking
 * read. Redis hands entries to the consumer when it replies, so a reply the client gives up on (its
 * event loop stalled past a short timeout) leaves them pending until the visibility timeout.
 */
export function duplicateWithTimeout(redis: RedisClient, commandTimeoutMs: number): RedisClient {
  if (redis instanceof Cluster) return redis.duplicate([], { redisOptions: { ...redis.options.redisOptions, commandTimeout: commandTimeoutMs } });
  return redis.duplicate({ commandTimeout: commandTimeoutMs });
}

/** Redis refused the credentials (a wrong password or user, or none given to a Redis that wants one). */
export function isAuthFailure(err: unknown): boolean {
  return /\b(WRONGPASS|NOAUTH|NOPERM)\b|invalid password|Authentication required/i.test(String((err as Error)?.message ?? err));
}

/** What to tell the operator about a refused login: which settings to look at, never their values. */
export const AUTH_HINT = "authentication failed: Redis refused the credentials — check REDIS_PASSWORD and REDIS_USERNAME (or the user and password in REDIS_URL; for Sentinel also REDIS_SENTINEL_PASSWORD)";

/** The server's connection: fast failure (a delivery gets 503 rather than waiting), outages logged once. */
export function connectRedis(config: RedisConfig, log: FastifyBaseLogger): RedisClient {
  // Auto-pipelining sends the commands of one tick in one round trip; a WAIT may block up to its timeout.
  const redis = createRedis(config, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: Math.max(2_000, config.waitTimeoutMs + 1_000), enableOfflineQueue: false, enableAutoPipelining: true });
  let down = false;
  // A Cluster reports "Failed to refresh slots cache."; a node's own error says why (refused, TLS, auth).
  let nodeError: string | undefined;
  redis.on("node error", (err: Error, node: string) => (nodeError = `${node}: ${err.message}`));
  let authLoggedAt = 0;
  redis.on("error", (err: Error) => {
    const cause = nodeError;
    const fields = { err: { message: err.message, ...(cause ? { cause } : {}) }, redis: describeTopology(config.topology) };
    if (isAuthFailure(err) || isAuthFailure(cause)) {
      // Not an outage that ends by itself: said as what it is, and again every minute while it lasts.
      if (Date.now() - authLoggedAt >= 60_000) log.error(fields, `redis unreachable: ${AUTH_HINT}; deliveries are answered 503 and /readyz is 503 until it is fixed`);
      authLoggedAt = Date.now();
    } else if (!down) log.error(fields, "redis unreachable: deliveries are answered 503 and /readyz is 503 until it is back");
    down = true;
  });
  redis.on("ready", () => {
    if (down) log.info({ redis: describeTopology(config.topology) }, "redis reachable again");
    down = false;
  });
  return redis;
}
