/**
 * The hand-off between the answer a sender gets and the user's handler. Two kinds:
 * - durable (REDIS_URL): deduplication and the append to a Redis stream in one atomic step, workers
 *   in every replica (stream-queue.ts) — nothing answered 200 is lost if a process dies;
 * - in memory (no REDIS_URL; for development): a dedup map and a bounded in-process queue — an event
 *   answered 200 but not yet handled is lost if the process dies, and a handler that fails (or
 *   runs past its deadline) is not run again: the event is dropped, and the log says so.
 */
import type { DedupStore } from "./dedup";
import type { StreamCounts } from "../ops/metrics";
import { decodeEvent, encodeEvent, HandlerMeta, ReceivedEvent } from "../handle/event";
import type { RedisClient } from "./redis";
import { within } from "./wait";
import { AcceptResult, NotReplicatedError, ProcessOutcome, StreamQueue, StreamQueueOptions } from "./stream-queue";
import { WorkQueue } from "./work-queue";

export type Readiness = "ok" | "unavailable" | "not_replicated";

export interface Handoff {
  readonly kind: "durable" | "memory";
  /**
   * Throws when the store cannot answer (the delivery then gets 503). `body` is the verified body as
   * it arrived (the durable stream keeps it rather than the event re-serialised).
   */
  accept(dedupKeys: string[], event: ReceivedEvent, traceparent?: string, body?: string): Promise<AcceptResult>;
  /** False while the store cannot answer. */
  ready(): boolean;
  /**
   * Why it is or is not ready: `ok`; `unavailable` (the store does not answer: down, unreachable, or
   * not answering a PING within a second — a paused Redis); `not_replicated` (durable mode with
   * REDIS_WAIT_REPLICAS: fewer replicas connected than it asks for, so no accept can be confirmed).
   */
  readiness(): Readiness;
  /** Events accepted and not yet handled. */
  depth(): Promise<number>;
  /** Events given up on and kept for an operator (durable mode; 0 in memory). */
  deadLetters(): Promise<number>;
  /** Both of the above in one read of the store, with (durable) pending entries and the oldest's time; rejects while it cannot answer. */
  counts(): Promise<StreamCounts>;
  /**
   * Whether this replica exports the stream-wide gauges (backlog, dead letters, pending, oldest age):
   * one replica at a time holds that role (a lease in Redis), so a sum() over replicas counts the
   * stream once. Always true in memory mode (the queue is this process's own).
   */
  reportsStream(): boolean;
  /** Starts the workers (durable mode). */
  start(): Promise<void>;
  /**
   * Stops taking work, gives the handlers in flight up to `timeoutMs`, closes the store. Resolves
   * with the events not finished: left pending for another replica (durable) or lost (memory).
   */
  close(timeoutMs?: number): Promise<number>;
}

/** Runs the user's handler for one event (with its deadline and span); `acceptedAt`: when its delivery was answered 200 (ms). */
export type Process = (event: ReceivedEvent, meta: Omit<HandlerMeta, "signal">, traceparent?: string, acceptedAt?: number) => Promise<void>;
export type OutcomeSink = (outcome: ProcessOutcome, event: ReceivedEvent | undefined, error?: unknown, trimmed?: number) => void;

export class MemoryHandoff implements Handoff {
  readonly kind = "memory";
  readonly #queue: WorkQueue<{ event: ReceivedEvent; traceparent?: string; acceptedAt: number }>;

  constructor(
    private readonly dedup: DedupStore,
    process: Process,
    onOutcome: OutcomeSink,
    concurrency: number,
    capacity: number,
  ) {
    this.#queue = new WorkQueue(
      async ({ event, traceparent, acceptedAt }) => {
        await process(event, { webhookId: event.webhookId, type: event.type, kind: event.kind, attempt: 1 }, traceparent, acceptedAt);
        onOutcome("ok", event);
      },
      concurrency,
      capacity,
      (err, { event }) => onOutcome("dropped", event, err),
    );
  }

  async start(): Promise<void> {}

  async accept(dedupKeys: string[], event: ReceivedEvent, traceparent?: string, body?: string): Promise<AcceptResult> {
    if (!this.dedup.ready()) throw new Error("dedup store not ready");
    const claimed: string[] = [];
    for (const key of dedupKeys) {
      if (!(await this.dedup.claim(key))) break; // a delivery is new only when every key is
      claimed.push(key);
    }
    if (claimed.length < dedupKeys.length) return "duplicate";
    if (this.#queue.push({ event: body === undefined ? event : { ...event, body }, traceparent, acceptedAt: Date.now() })) return "accepted";
    await Promise.all(claimed.map((k) => this.dedup.release(k))).catch(() => undefined); // the sender's retry must be processed
    return "full";
  }

  ready(): boolean {
    return this.dedup.ready();
  }

  readiness(): Readiness {
    return this.ready() ? "ok" : "unavailable";
  }

  async depth(): Promise<number> {
    return this.#queue.size;
  }

  async deadLetters(): Promise<number> {
    return 0;
  }

  async counts(): Promise<StreamCounts> {
    return { depth: this.#queue.size, deadLetters: 0 };
  }

  reportsStream(): boolean {
    return true;
  }

  async close(timeoutMs = Infinity): Promise<number> {
    const left = await this.#queue.drain(timeoutMs);
    await this.dedup.close();
    return left;
  }
}

/** Errors Redis answers with while up (a script or permission error): waiting for a failover does not help. */
const REFUSED = /^(ERR|WRONGTYPE|NOPERM|NOAUTH|WRONGPASS|NOSCRIPT)\b/;

export interface DurableOptions extends StreamQueueOptions {
  /** How long an accept interrupted by a failover or a blip waits for Redis and is tried again (default 5 000 ms). */
  failoverWaitMs?: number;
  /**
   * Called at start when an earlier release's stream holds events: `finishing` when this replica
   * finishes them (0.3's layout under this prefix), else not (0.2's default prefix).
   */
  onLegacyBacklog?: (stream: string, events: number, finishing: boolean) => void;
  /** Told each time the probe's verdict changes (the `gemini_webhook_redis_up` gauge, a log line). */
  onHealth?: (health: RedisHealth) => void;
}

/** What the last probe saw: does Redis answer, and (with REDIS_WAIT_REPLICAS) how many replicas each master has online. */
export interface RedisHealth {
  answering: boolean;
  /** The fewest replicas online on any master; undefined when not asked (no REDIS_WAIT_REPLICAS) or not known. */
  replicas?: number;
}

/**
 * The stream gauges' reporter: a lease in Redis held by one replica, renewed every REPORTER_RENEW_MS;
 * a replica that stops holding it (stopped, cut off from Redis) is replaced once it expires.
 */
const REPORTER_LEASE_MS = 30_000;
const REPORTER_RENEW_MS = 10_000;
// KEYS: the lease. ARGV: this replica's name, the lease in ms. 1 when this replica holds it (taken or renewed).
const REPORTER = `
local holder = redis.call('GET', KEYS[1])
if not holder then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return 1 end
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0`;

/**
 * How often the probe asks, and how long a PING may take before Redis counts as not answering: an
 * outage is seen within PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS (1.5 s), a recovery within 0.5 s.
 */
const PROBE_INTERVAL_MS = 500;
const PROBE_TIMEOUT_MS = 1_000;

export class DurableHandoff implements Handoff {
  readonly kind = "durable";
  readonly queue: StreamQueue;
  readonly #failoverWaitMs: number;

  constructor(
    private readonly redis: RedisClient,
    process: Process,
    onOutcome: OutcomeSink,
    private readonly options: DurableOptions,
  ) {
    const parse = decodeEvent;
    this.#failoverWaitMs = options.failoverWaitMs ?? 5_000;
    // Defined before any command is sent (ioredis's auto-pipelining mishandles a script defined later).
    if (!(redis as { geminiReporter?: unknown }).geminiReporter) redis.defineCommand("geminiReporter", { numberOfKeys: 1, lua: REPORTER });
    this.queue = new StreamQueue(
      redis,
      (payload, meta) => {
        const event = parse(payload);
        // The entry id's first part is the time Redis appended it: when the delivery was accepted (or replayed).
        return process(event, { webhookId: event.webhookId, type: event.type, kind: event.kind, attempt: meta.attempt }, meta.traceparent, Number(meta.entryId.split("-")[0]));
      },
      (outcome, payload, error, trimmed) => onOutcome(outcome, safeParse(parse, payload), error, trimmed),
      options,
    );
  }

  /** This replica's name for the reporter lease. */
  readonly #name = `${process.env.HOSTNAME ?? "receiver"}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  #reporter = false;
  #reporterTimer?: NodeJS.Timeout;
  #health: RedisHealth = { answering: true };
  /** Whether the first verdict was told (the gauge exists from the first probe on). */
  #reported = false;
  /** A probe is out (one at a time). */
  #probing = false;
  #probeTimer?: NodeJS.Timeout;

  async start(): Promise<void> {
    await this.queue.start();
    this.#probeTimer = setInterval(() => this.#probe(), PROBE_INTERVAL_MS);
    this.#probeTimer.unref();
    this.#probe();
    this.#reporterTimer = setInterval(() => void this.#claimReporter(), REPORTER_RENEW_MS);
    this.#reporterTimer.unref();
    await this.#claimReporter();
    // Releases up to 0.3 kept one stream, `<prefix>events` (0.2's default prefix: `gemini-webhook:`).
    if (!this.options.onLegacyBacklog || this.redis.status !== "ready") return;
    const streams = new Map<string, boolean>([["gemini-webhook:events", false]]);
    if (this.queue.legacy) streams.set(this.queue.legacy.events, true);
    for (const [stream, finishing] of streams) {
      const waiting = await this.redis.xlen(stream).catch(() => 0);
      if (waiting > 0) this.options.onLegacyBacklog(stream, waiting, finishing);
    }
  }

  /**
   * Dedup and append. An accept that meets Redis down (a failover under way, a blip) waits for it
   * up to `failoverWaitMs` and is tried again — safe, as a retry of an accept that did land answers
   * `duplicate`. Fewer replicas than asked for is not retried here: the sender's retry is.
   */
  async accept(dedupKeys: string[], event: ReceivedEvent, traceparent?: string, body?: string): Promise<AcceptResult> {
    const payload = encodeEvent(event.kind, event.webhookId, body ?? JSON.stringify(event.envelope));
    const deadline = Date.now() + this.#failoverWaitMs;
    for (;;) {
      try {
        const readiness = this.readiness();
        // Fewer replicas online than asked for: no accept can be confirmed; said at once, not after a WAIT times out.
        if (readiness === "not_replicated") {
          const [online, wanted] = [this.#health.replicas ?? 0, this.options.waitReplicas ?? 0];
          throw new NotReplicatedError(online, wanted, `${online} of ${wanted} replicas online (REDIS_WAIT_REPLICAS): refused without waiting`);
        }
        if (readiness !== "ok") throw new Error("redis not ready");
        return await this.queue.accept(dedupKeys[0] ?? event.webhookId, dedupKeys, payload, traceparent);
      } catch (err) {
        if (err instanceof NotReplicatedError || REFUSED.test((err as Error).message) || Date.now() >= deadline) throw err;
        await this.#redisBack(deadline);
      }
    }
  }

  /** Resolves when the connection is ready again, or at `deadline`. */
  async #redisBack(deadline: number): Promise<void> {
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (this.ready()) return;
    }
  }

  ready(): boolean {
    return this.readiness() === "ok";
  }

  readiness(): Readiness {
    if (this.redis.status !== "ready" || !this.#health.answering) return "unavailable";
    const wanted = this.options.waitReplicas ?? 0;
    if (wanted > 0 && this.#health.replicas !== undefined && this.#health.replicas < wanted) return "not_replicated";
    return "ok";
  }

  /**
   * Asks every master for a PING (and, with REDIS_WAIT_REPLICAS, `INFO replication`) twice a second.
   * A PING unanswered for a second — a paused or overloaded Redis, a network that drops packets —
   * makes the replica not ready while the connection still looks up; fewer replicas online than
   * REDIS_WAIT_REPLICAS makes it not ready as `not_replicated`, and deliveries are refused as such
   * at once instead of after REDIS_WAIT_TIMEOUT_MS. One probe at a time: a PING still out after the
   * timeout is not sent again, and its answer, when it comes, brings readiness back.
   */
  #probe(): void {
    if (this.#probing) return; // the one still out says "not answering" when its timer fires
    this.#probing = true;
    const late = setTimeout(() => this.#setHealth({ answering: false }), PROBE_TIMEOUT_MS);
    late.unref();
    const wanted = this.options.waitReplicas ?? 0;
    const cluster = (this.redis as { isCluster?: boolean }).isCluster === true;
    const masters = cluster ? (this.redis as unknown as { nodes(role: string): RedisClient[] }).nodes("master") : [this.redis];
    const check = async (): Promise<RedisHealth> => {
      if (this.redis.status !== "ready" || masters.length === 0) return { answering: false };
      const answers = await Promise.all(
        masters.map(async (node) => {
          if ((await node.ping()) !== "PONG") return undefined;
          if (wanted === 0) return Infinity;
          const info = await node.info("replication");
          return [...info.matchAll(/^slave\d+:.*\bstate=online\b/gm)].length;
        }),
      );
      if (answers.some((n) => n === undefined)) return { answering: false };
      return wanted === 0 ? { answering: true } : { answering: true, replicas: Math.min(...(answers as number[])) };
    };
    check()
      .catch((): RedisHealth => ({ answering: false }))
      .then((health) => {
        clearTimeout(late);
        this.#probing = false;
        this.#setHealth(health);
      });
  }

  #setHealth(health: RedisHealth): void {
    const changed = !this.#reported || health.answering !== this.#health.answering || health.replicas !== this.#health.replicas;
    this.#reported = true;
    this.#health = health;
    if (changed) this.options.onHealth?.(health);
  }

  reportsStream(): boolean {
    return this.#reporter;
  }

  #leaseKey(): string {
    return `${this.options.prefix ?? "gemini-webhooks:"}{layout}:gauge-reporter`;
  }

  /** Takes or renews the reporter lease; while Redis does not answer, the role is kept as it was (a reporter then reports NaN). */
  async #claimReporter(): Promise<void> {
    const redis = this.redis as RedisClient & { geminiReporter?: (key: string, name: string, ms: number) => Promise<number> };
    try {
      this.#reporter = (await redis.geminiReporter!(this.#leaseKey(), this.#name, REPORTER_LEASE_MS)) === 1;
    } catch {
      // unchanged
    }
  }

  async #releaseReporter(): Promise<void> {
    this.#reporter = false;
    await this.redis.eval("if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0", 1, this.#leaseKey(), this.#name).then(() => undefined, () => undefined);
  }

  depth(): Promise<number> {
    return this.queue.depth();
  }

  deadLetters(): Promise<number> {
    return this.queue.deadLetters();
  }

  counts(): Promise<StreamCounts> {
    // Known not to answer: no figure, at once (the gauges read NaN), rather than a read that waits for the command timeout.
    if (this.readiness() === "unavailable") return Promise.reject(new Error("redis does not answer"));
    return this.queue.counts();
  }

  async close(timeoutMs = Infinity): Promise<number> {
    clearInterval(this.#probeTimer);
    clearInterval(this.#reporterTimer);
    // Handing the role over at once: the next replica to renew takes it.
    if (this.#reporter) await within(this.#releaseReporter(), 500);
    const unfinished = await this.queue.close(timeoutMs);
    // QUIT lets the last acknowledgements land; a Redis that is down (a Cluster still retrying its
    // slots) may never answer it, so it gets a second, then the connection is dropped.
    await within(this.redis.quit().then(() => undefined, () => undefined), 1_000);
    this.redis.disconnect();
    return unfinished;
  }
}

function safeParse<T>(parse: (s: string) => T, payload: string): T | undefined {
  try {
    return parse(payload);
  } catch {
    return undefined;
  }
}
