/**
 * The hand-off between the answer a sender gets and the user's handler. Two kinds:
 * - durable (REDIS_URL): deduplication and the append to a Redis stream in one atomic step, workers
 *   in every replica (stream-queue.ts) — nothing answered 200 is lost if a process dies;
 * - in memory (no REDIS_URL; for development): a dedup map and a bounded in-process queue — an event
 *   answered 200 but not yet handled is lost if the process dies.
 */
import type Redis from "ioredis";
import type { DedupStore } from "./dedup";
import type { HandlerMeta, ReceivedEvent } from "./event";
import { AcceptResult, ProcessOutcome, StreamQueue, StreamQueueOptions } from "./stream-queue";
import { WorkQueue } from "./work-queue";

export interface Handoff {
  readonly kind: "durable" | "memory";
  /** Throws when the store cannot answer (the delivery then gets 503). */
  accept(dedupKeys: string[], event: ReceivedEvent): Promise<AcceptResult>;
  /** False while the store cannot answer. */
  ready(): boolean;
  /** Events accepted and not yet handled. */
  depth(): Promise<number>;
  /** Resolves once every accepted event has been handled (tests, shutdown). */
  drain(): Promise<void>;
  close(): Promise<void>;
}

export type Process = (event: ReceivedEvent, meta: HandlerMeta) => Promise<void>;
export type OutcomeSink = (outcome: ProcessOutcome, event: ReceivedEvent | undefined, error?: unknown) => void;

export class MemoryHandoff implements Handoff {
  readonly kind = "memory";
  readonly #queue: WorkQueue<ReceivedEvent>;

  constructor(
    private readonly dedup: DedupStore,
    process: Process,
    onOutcome: OutcomeSink,
    concurrency: number,
    capacity: number,
  ) {
    this.#queue = new WorkQueue<ReceivedEvent>(
      async (event) => {
        await process(event, { webhookId: event.webhookId, type: event.type, kind: event.kind, attempt: 1 });
        onOutcome("ok", event);
      },
      concurrency,
      capacity,
      (err, event) => onOutcome("failed", event, err),
    );
  }

  async accept(dedupKeys: string[], event: ReceivedEvent): Promise<AcceptResult> {
    if (!this.dedup.ready()) throw new Error("dedup store not ready");
    const claimed: string[] = [];
    for (const key of dedupKeys) {
      if (!(await this.dedup.claim(key))) break; // a delivery is new only when every key is
      claimed.push(key);
    }
    if (claimed.length < dedupKeys.length) return "duplicate";
    if (this.#queue.push(event)) return "accepted";
    await Promise.all(claimed.map((k) => this.dedup.release(k))).catch(() => undefined); // the sender's retry must be processed
    return "full";
  }

  ready(): boolean {
    return this.dedup.ready();
  }

  async depth(): Promise<number> {
    return this.#queue.size;
  }

  drain(): Promise<void> {
    return this.#queue.drain();
  }

  async close(): Promise<void> {
    await this.#queue.drain();
    await this.dedup.close();
  }
}

export class DurableHandoff implements Handoff {
  readonly kind = "durable";
  readonly queue: StreamQueue;

  constructor(
    private readonly redis: Redis,
    process: Process,
    onOutcome: OutcomeSink,
    options: StreamQueueOptions,
  ) {
    const parse = (payload: string) => JSON.parse(payload) as ReceivedEvent;
    this.queue = new StreamQueue(
      redis,
      (payload, meta) => {
        const event = parse(payload);
        return process(event, { webhookId: event.webhookId, type: event.type, kind: event.kind, attempt: meta.attempt });
      },
      (outcome, payload, error) => onOutcome(outcome, safeParse(parse, payload), error),
      options,
    );
  }

  start(): Promise<void> {
    return this.queue.start();
  }

  accept(dedupKeys: string[], event: ReceivedEvent): Promise<AcceptResult> {
    if (!this.ready()) return Promise.reject(new Error("redis not ready"));
    return this.queue.accept(dedupKeys, JSON.stringify(event));
  }

  ready(): boolean {
    return this.redis.status === "ready";
  }

  depth(): Promise<number> {
    return this.queue.depth();
  }

  async drain(): Promise<void> {
    while ((await this.queue.depth()) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  async close(): Promise<void> {
    await this.queue.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function safeParse<T>(parse: (s: string) => T, payload: string): T | undefined {
  try {
    return parse(payload);
  } catch {
    return undefined;
  }
}
