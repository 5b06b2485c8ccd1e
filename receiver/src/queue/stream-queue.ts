/**
 * The durable hand-off on Redis Streams: what a receiver answers 200 for is in Redis before the
 * answer, and is handled by some replica even if the one that accepted it dies. Two units over one
 * key layout (partitions.ts): the accept path (stream-accept.ts — dedup and append in one script,
 * group commit, WAIT, partition counts on a Cluster) and the consume path (stream-consume.ts —
 * reading, claiming, retries, acknowledgements, dead letters, finishing 0.3's stream).
 */
import { randomBytes } from "node:crypto";
import { AcceptResult, StreamAccepts } from "./stream-accept";
import { ProcessOutcome, StreamConsumer, StreamConsumerOptions, StreamEntryMeta } from "./stream-consume";
import { legacyKeys, PartitionKeys, partitionKeys } from "./partitions";
import type { RedisClient } from "./redis";

export { NotReplicatedError } from "./stream-accept";
export type { AcceptResult } from "./stream-accept";
export { failureReason, field } from "./stream-consume";
export type { ProcessOutcome, StreamEntryMeta } from "./stream-consume";

export interface StreamQueueOptions extends Pick<StreamConsumerOptions, "retryBaseMs" | "circuitFailures" | "onCircuit"> {
  /** Key prefix (default `gemini-webhooks:`); the layout is in partitions.ts. */
  prefix?: string;
  /** Streams the events are spread over (default 1). */
  partitions?: number;
  group?: string;
  /** This replica's consumer name (default: host-pid-random). */
  consumer?: string;
  /** Handlers running at once in this replica (default 8). */
  concurrency?: number;
  /** Backlog (per partition) beyond which deliveries are refused with 503 (default 100 000). */
  maxLength?: number;
  /** How long an entry may stay pending before another replica takes it over (default 30 000 ms). */
  visibilityTimeoutMs?: number;
  /** Deliveries of one entry before it moves to the dead-letter stream (default 5). */
  maxAttempts?: number;
  /** Entries each dead-letter stream keeps; the oldest beyond are trimmed and counted (default 10 000). */
  deadLetterMax?: number;
  /** Dedup horizon in seconds (default 25 h). */
  dedupSeconds?: number;
  /** How often this replica looks for entries to take over (default visibilityTimeoutMs / 2). */
  claimIntervalMs?: number;
  /** Replicas that must hold an accepted event before it is answered (default 0: the master's answer). */
  waitReplicas?: number;
  /** How long the answer waits for them (default 1000 ms). */
  waitTimeoutMs?: number;
  /**
   * Finish what releases up to 0.3 left in their one stream under this prefix (not on a Cluster,
   * which they did not support): its events are run and acknowledged there, its dead letters moved
   * to partition 0's (default true).
   */
  finishLegacy?: boolean;
}

/** The durable hand-off: the accept path (stream-accept.ts) and the consume path (stream-consume.ts) over one key layout (partitions.ts). */
export class StreamQueue {
  readonly partitions: readonly PartitionKeys[];
  /** An earlier release's stream this replica finishes (not on a Cluster). */
  readonly legacy?: PartitionKeys;
  readonly #accepts: StreamAccepts;
  readonly #consumer: StreamConsumer;

  constructor(
    redis: RedisClient,
    handle: (payload: string, meta: StreamEntryMeta) => Promise<void>,
    onOutcome: (outcome: ProcessOutcome, payload: string, error?: unknown, trimmed?: number) => void = () => undefined,
    options: StreamQueueOptions = {},
  ) {
    const prefix = options.prefix ?? "gemini-webhooks:";
    const cluster = (redis as { isCluster?: boolean }).isCluster === true;
    this.partitions = partitionKeys(prefix, options.partitions ?? 1, cluster);
    if (options.finishLegacy !== false && !cluster) this.legacy = legacyKeys(prefix);
    const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.#accepts = new StreamAccepts(redis, this.partitions, {
      prefix,
      cluster,
      maxLength: options.maxLength ?? 100_000,
      dedupSeconds: options.dedupSeconds ?? 25 * 60 * 60,
      waitReplicas: options.waitReplicas ?? 0,
      waitTimeoutMs: options.waitTimeoutMs ?? 1_000,
    });
    this.#consumer = new StreamConsumer(redis, this.partitions, this.legacy, handle, onOutcome, {
      group: options.group ?? "receivers",
      consumer: options.consumer ?? `${process.env.HOSTNAME ?? "receiver"}-${process.pid}-${randomBytes(3).toString("hex")}`,
      concurrency: options.concurrency ?? 8,
      visibilityTimeoutMs,
      maxAttempts: options.maxAttempts ?? 5,
      deadLetterMax: options.deadLetterMax ?? 10_000,
      claimIntervalMs: options.claimIntervalMs ?? Math.max(100, Math.floor(visibilityTimeoutMs / 2)),
      ...(options.retryBaseMs !== undefined ? { retryBaseMs: options.retryBaseMs } : {}),
      ...(options.circuitFailures !== undefined ? { circuitFailures: options.circuitFailures } : {}),
      ...(options.onCircuit ? { onCircuit: options.onCircuit } : {}),
    });
  }

  /**
   * The atomic accept step for one delivery: dedup on every key and append, or nothing. Rejects when
   * Redis cannot answer, or with `NotReplicatedError` when fewer than `waitReplicas` replicas
   * confirmed it in time. `anchor`: the key its partition follows (its first dedup key).
   */
  accept(anchor: string, dedupKeys: string[], payload: string, traceparent = ""): Promise<AcceptResult> {
    return this.#accepts.accept(anchor, dedupKeys, payload, traceparent);
  }

  /** The backlog, the dead letters, the pending entries and the oldest's time, in one round trip per partition. */
  counts(): ReturnType<StreamConsumer["counts"]> {
    return this.#consumer.counts();
  }

  /** Entries in the dead-letter streams. */
  deadLetters(): Promise<number> {
    return this.#consumer.deadLetters();
  }

  /** Entries accepted and not yet acknowledged (waiting, in flight or waiting for a retry). */
  depth(): Promise<number> {
    return this.#consumer.depth();
  }

  /** Handler runs in flight in this replica. */
  get active(): number {
    return this.#consumer.active;
  }

  /** Starts the workers; with Redis not reachable yet they keep trying (deliveries get 503 meanwhile). */
  async start(): Promise<void> {
    await this.#consumer.start();
    await this.#accepts.start();
  }

  /** Stops taking work, gives the handlers in flight up to `timeoutMs`; resolves with how many were still running. */
  close(timeoutMs = Infinity): Promise<number> {
    this.#accepts.close();
    return this.#consumer.close(timeoutMs);
  }
}
