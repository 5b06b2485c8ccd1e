/**
 * The accept path of the durable hand-off: what a receiver answers 200 for is in Redis before the
 * answer. Deduplication and the append to the partition's stream are one Lua script (one atomic
 * step): a seen key → duplicate; a stream past `maxLength` → full (the sender gets 503 and retries);
 * else the dedup keys are set and the event appended. The accepts of one event-loop turn go to Redis
 * as one script call per partition (group commit); with `waitReplicas`, a `WAIT` follows the call on
 * the same connection and the deliveries are answered only once that many replicas hold them (else
 * 503, and the retry is safe). A delivery's partition follows its first dedup key (partitions.ts);
 * on a Cluster, the partition counts in use are registered, and for the dedup horizon after a change
 * an accept also looks for its dedup keys under the other counts (one EXISTS per count; not atomic
 * with the accept — only a delivery arriving twice at once, at two replicas of different counts, can
 * slip through). The consume path is stream-consume.ts; stream-queue.ts puts the two together.
 */
import { layoutKey, PartitionKeys, partitionKeys, partitionOf } from "./partitions";
import type { RedisClient } from "./redis";

export type AcceptResult = "accepted" | "duplicate" | "full";

/** Fewer replicas than REDIS_WAIT_REPLICAS confirmed an accept in time: the delivery gets 503. */
export class NotReplicatedError extends Error {
  constructor(readonly confirmed: number, readonly wanted: number, message = `${confirmed} of ${wanted} replicas confirmed the accept in time`) {
    super(message);
    this.name = "NotReplicatedError";
  }
}

// The accepts of one turn for one partition. KEYS: stream, then each delivery's dedup keys.
// ARGV: dedup ttl, max length, '1' when the answer waits for replicas, then per delivery: its number
// of dedup keys, payload, traceparent or ''. Returns each delivery's result, in order. A duplicate
// answered while waiting for replicas rewrites its key's expiry (same time): a write, so the WAIT
// that follows covers the first delivery's entry too (replication is one ordered stream).
const ACCEPT = `
local stream, ttl, waits = KEYS[1], tonumber(ARGV[1]), ARGV[3] == '1'
local room = tonumber(ARGV[2]) - redis.call('XLEN', stream)
local results, k = {}, 2
for a = 4, #ARGV, 3 do
  local n, result = tonumber(ARGV[a]), 'accepted'
  for i = k, k + n - 1 do
    if redis.call('EXISTS', KEYS[i]) == 1 then
      result = 'duplicate'
      if waits then
        local left = redis.call('PTTL', KEYS[i])
        if left > 0 then redis.call('PEXPIRE', KEYS[i], left) end
      end
      break
    end
  end
  if result == 'accepted' and room <= 0 then result = 'full' end
  if result == 'accepted' then
    for i = k, k + n - 1 do redis.call('SET', KEYS[i], '1', 'EX', ttl) end
    if ARGV[a + 2] == '' then
      redis.call('XADD', stream, '*', 'event', ARGV[a + 1])
    else
      redis.call('XADD', stream, '*', 'event', ARGV[a + 1], 'traceparent', ARGV[a + 2])
    end
    room = room - 1
  end
  results[#results + 1] = result
  k = k + n
end
return results`;

/** The largest group of accepts sent as one script call. */
const MAX_GROUP = 256;

interface PendingAccept {
  dedupKeys: string[];
  payload: string;
  traceparent: string;
  resolve: (result: AcceptResult) => void;
  reject: (err: unknown) => void;
}

type AcceptingRedis = RedisClient & { geminiAccept(...args: (string | number)[]): Promise<AcceptResult[]> };

export interface StreamAcceptsOptions {
  prefix: string;
  /** A Cluster: dedup keys under each partition's tag, partition counts registered. */
  cluster: boolean;
  /** Backlog (per partition) beyond which deliveries are refused with 503. */
  maxLength: number;
  /** Dedup horizon in seconds. */
  dedupSeconds: number;
  /** Replicas that must hold an accepted event before it is answered (0: the master's answer). */
  waitReplicas: number;
  /** How long the answer waits for them. */
  waitTimeoutMs: number;
}

export class StreamAccepts {
  /** The accepts of the current turn, per partition, sent together when the turn ends. */
  #groups = new Map<number, PendingAccept[]>();
  /** Cluster: the layouts of the other partition counts registered within the dedup horizon. */
  #otherLayouts: PartitionKeys[][] = [];
  #layoutCheckedAt = 0;
  #layoutTimer?: NodeJS.Timeout;
  readonly #redis: AcceptingRedis;

  constructor(
    redis: RedisClient,
    private readonly partitions: readonly PartitionKeys[],
    private readonly options: StreamAcceptsOptions,
  ) {
    this.#redis = redis as AcceptingRedis;
    if (!this.#redis.geminiAccept) redis.defineCommand("geminiAccept", { lua: ACCEPT });
  }

  /** Cluster: registers this replica's partition count now and every minute (see registerLayout). */
  async start(): Promise<void> {
    if (!this.options.cluster) return;
    this.#layoutTimer = setInterval(() => this.#registerLayout().catch(() => undefined), 60_000);
    this.#layoutTimer.unref();
    await this.#registerLayout().catch(() => undefined); // the timer tries again
  }

  close(): void {
    clearInterval(this.#layoutTimer);
  }

  /**
   * The atomic accept step for one delivery: dedup on every key and append, or nothing. Goes to
   * Redis with the other accepts of this turn; rejects when Redis cannot answer, or with
   * `NotReplicatedError` when fewer than `waitReplicas` replicas confirmed it in time.
   */
  accept(anchor: string, dedupKeys: string[], payload: string, traceparent = ""): Promise<AcceptResult> {
    const partition = partitionOf(anchor, this.partitions.length);
    if (this.#otherLayouts.length === 0) return this.#enqueue(partition, dedupKeys, payload, traceparent);
    return this.#seenElsewhere(anchor, dedupKeys).then((seen) => (seen ? "duplicate" : this.#enqueue(partition, dedupKeys, payload, traceparent)));
  }

  /** Cluster, after a change of partition count: a dedup key stored under another count registered within the horizon. */
  async #seenElsewhere(anchor: string, dedupKeys: string[]): Promise<boolean> {
    for (const layout of this.#otherLayouts) {
      const partition = layout[partitionOf(anchor, layout.length)];
      if ((await this.#redis.exists(...dedupKeys.map((key) => partition.seen(key)))) > 0) return true;
    }
    return false;
  }

  /**
   * Cluster: registers this replica's partition count (refreshed every minute) and learns the others
   * registered within the dedup horizon. One server or Sentinel needs none of it (one dedup key space).
   */
  async #registerLayout(): Promise<void> {
    if (!this.options.cluster || Date.now() - this.#layoutCheckedAt < 60_000) return;
    const key = layoutKey(this.options.prefix);
    const horizonMs = this.options.dedupSeconds * 1000;
    const now = Date.now();
    const replies = (await this.#redis.pipeline().hset(key, String(this.partitions.length), String(now)).pexpire(key, horizonMs).hgetall(key).exec()) ?? [];
    for (const [err] of replies) if (err) throw err;
    const counts = replies[2][1] as Record<string, string>;
    this.#otherLayouts = Object.entries(counts)
      .map(([count, at]) => [Number(count), Number(at)] as const)
      .filter(([count, at]) => Number.isInteger(count) && count >= 1 && count <= 256 && count !== this.partitions.length && now - at < horizonMs)
      .map(([count]) => partitionKeys(this.options.prefix, count, true));
    this.#layoutCheckedAt = now;
  }

  #enqueue(partition: number, dedupKeys: string[], payload: string, traceparent: string): Promise<AcceptResult> {
    return new Promise((resolve, reject) => {
      let group = this.#groups.get(partition);
      if (!group) {
        group = [];
        this.#groups.set(partition, group);
        setImmediate(() => this.#flush(partition, group!));
      }
      group.push({ dedupKeys, payload, traceparent, resolve, reject });
      if (group.length >= MAX_GROUP) this.#groups.delete(partition); // the next accept starts another group
    });
  }

  /** Sends one partition's group as one script call (followed by WAIT), and answers each accept. */
  #flush(partition: number, group: PendingAccept[]): void {
    if (this.#groups.get(partition) === group) this.#groups.delete(partition);
    const keys = this.partitions[partition];
    const args: (string | number)[] = [keys.events];
    const argv: (string | number)[] = [this.options.dedupSeconds, this.options.maxLength, this.options.waitReplicas > 0 ? "1" : "0"];
    for (const { dedupKeys, payload, traceparent } of group) {
      for (const key of dedupKeys) args.push(keys.seen(key));
      argv.push(dedupKeys.length, payload, traceparent);
    }
    const numberOfKeys = args.length;
    let sent: Promise<AcceptResult[]>;
    if (this.options.waitReplicas === 0) {
      sent = this.#redis.geminiAccept(numberOfKeys, ...args, ...argv);
    } else {
      // WAIT does not block inside a script: it follows the script on the same connection (a
      // pipeline goes to one connection, in a cluster the one of the partition's slot).
      const pipeline = this.#redis.pipeline() as unknown as AcceptingRedis & { call(...a: (string | number)[]): unknown; exec(): Promise<[Error | null, unknown][] | null> };
      pipeline.geminiAccept(numberOfKeys, ...args, ...argv);
      pipeline.call("WAIT", this.options.waitReplicas, this.options.waitTimeoutMs);
      sent = pipeline.exec().then((replies) => {
        const [[scriptError, results], [waitError, confirmed]] = replies!;
        if (scriptError) throw scriptError;
        if (waitError) throw waitError;
        if ((confirmed as number) < this.options.waitReplicas) throw new NotReplicatedError(confirmed as number, this.options.waitReplicas);
        return results as AcceptResult[];
      });
    }
    sent.then(
      (results) => group.forEach((pending, i) => pending.resolve(results[i])),
      (err) => group.forEach((pending) => pending.reject(err)),
    );
  }

}
