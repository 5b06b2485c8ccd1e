/**
 * The durable hand-off on Redis Streams: what a receiver answers 200 for is in Redis before the
 * answer, and is handled by some replica even if the one that accepted it dies.
 *
 * - `accept`: deduplication and the append to the stream in one Lua script (one atomic step):
 *   a seen key → duplicate; a stream past `maxLength` → full (the sender gets 503 and retries);
 *   else the dedup keys are set and the event appended. Only then is the delivery answered.
 * - Workers in every replica read through one consumer group (`XREADGROUP`), run the handler and
 *   acknowledge (`XACK` + `XDEL` in one script, so the stream's length is the backlog).
 * - Entries left pending by a dead replica, or by a handler that failed or ran past its deadline,
 *   are claimed after `visibilityTimeoutMs` (`XAUTOCLAIM`) and run again; past `maxAttempts`
 *   deliveries an entry moves to the dead-letter stream (bounded by `deadLetterMax`, the trimmed
 *   ones counted) with its last error and reason (`error` or `timeout`).
 * - `close(ms)` stops reading at once, gives the handlers in flight up to `ms` and acknowledges
 *   those that finish; the others stay pending, for another replica to take over.
 */
import { randomBytes } from "node:crypto";
import type Redis from "ioredis";
import { within } from "./wait";

export interface StreamQueueOptions {
  /** Key prefix (default `gemini-webhooks:`): `<prefix>events`, `<prefix>dead-letter`, `<prefix>seen:<id>`. */
  prefix?: string;
  group?: string;
  /** This replica's consumer name (default: host-pid-random). */
  consumer?: string;
  /** Handlers running at once in this replica (default 8). */
  concurrency?: number;
  /** Backlog beyond which deliveries are refused with 503 (default 100 000). */
  maxLength?: number;
  /** How long an entry may stay pending before another replica takes it over (default 30 000 ms). */
  visibilityTimeoutMs?: number;
  /** Deliveries of one entry before it moves to the dead-letter stream (default 5). */
  maxAttempts?: number;
  /** Entries the dead-letter stream keeps; the oldest beyond are trimmed and counted (default 10 000). */
  deadLetterMax?: number;
  /** Dedup horizon in seconds (default 25 h). */
  dedupSeconds?: number;
  /** How often this replica looks for entries to take over (default visibilityTimeoutMs / 2). */
  claimIntervalMs?: number;
}

export interface StreamEntryMeta {
  /** Redis stream entry id. */
  entryId: string;
  /** 1 for the first run, more when the entry was taken over or retried. */
  attempt: number;
  /** The W3C traceparent of the delivery that put the entry there, when it was traced. */
  traceparent?: string;
}

/** Why a run counts as failed, as recorded with a dead letter: an error's `reason` field, else `error`. */
export function failureReason(err: unknown): string {
  const reason = (err as { reason?: unknown })?.reason;
  return typeof reason === "string" && /^[a-z_]{1,32}$/.test(reason) ? reason : "error";
}

export type AcceptResult = "accepted" | "duplicate" | "full";

/** The Redis keys of one receiver namespace (REDIS_KEY_PREFIX): the one place they are named. */
export function streamKeys(prefix: string) {
  return {
    events: `${prefix}events`,
    deadLetter: `${prefix}dead-letter`,
    /** How many dead letters the bound trimmed, over every replica. */
    trimmed: `${prefix}dead-letter:trimmed`,
    seen: (dedupKey: string) => `${prefix}seen:${dedupKey}`,
  };
}
export type ProcessOutcome = "ok" | "failed" | "dead_letter" | "dropped";

// KEYS: dedup keys..., stream. ARGV: dedup ttl, max length, payload, traceparent or ''.
const ACCEPT = `
local stream = KEYS[#KEYS]
for i = 1, #KEYS - 1 do
  if redis.call('EXISTS', KEYS[i]) == 1 then return 'duplicate' end
end
if redis.call('XLEN', stream) >= tonumber(ARGV[2]) then return 'full' end
for i = 1, #KEYS - 1 do redis.call('SET', KEYS[i], '1', 'EX', tonumber(ARGV[1])) end
if ARGV[4] == '' then
  redis.call('XADD', stream, '*', 'event', ARGV[3])
else
  redis.call('XADD', stream, '*', 'event', ARGV[3], 'traceparent', ARGV[4])
end
return 'accepted'`;

// KEYS: stream. ARGV: group, entry ids...
const ACK = `
local ids = { unpack(ARGV, 2) }
redis.call('XACK', KEYS[1], ARGV[1], unpack(ids))
return redis.call('XDEL', KEYS[1], unpack(ids))`;

// KEYS: stream, dead-letter stream, trimmed counter. ARGV: group, entry id, payload, error, attempts,
// reason, consumer, max dead letters. Returns how many old dead letters the bound trimmed.
const DEAD_LETTER = `
local now = redis.call('TIME')
redis.call('XADD', KEYS[2], '*', 'event', ARGV[3], 'error', ARGV[4], 'attempts', ARGV[5], 'entry', ARGV[2],
  'reason', ARGV[6], 'consumer', ARGV[7], 'failed_at', now[1] * 1000 + math.floor(now[2] / 1000))
local trimmed = redis.call('XTRIM', KEYS[2], 'MAXLEN', tonumber(ARGV[8]))
if trimmed > 0 then redis.call('INCRBY', KEYS[3], trimmed) end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return trimmed`;

type Fields = string[];
type Entry = [id: string, fields: Fields | null];

interface ScriptedRedis extends Redis {
  geminiAccept(...args: (string | number)[]): Promise<AcceptResult>;
  geminiAck(stream: string, group: string, ...ids: string[]): Promise<number>;
  geminiDeadLetter(stream: string, dlq: string, trimmed: string, group: string, id: string, payload: string, error: string, attempts: number, reason: string, consumer: string, max: number): Promise<number>;
}

export class StreamQueue {
  readonly stream: string;
  readonly deadLetterStream: string;
  /** A counter of the dead letters the bound has trimmed, over every replica. */
  readonly trimmedKey: string;
  readonly #seen: (dedupKey: string) => string;
  readonly #group: string;
  readonly #consumer: string;
  readonly #options: Required<Omit<StreamQueueOptions, "prefix" | "group" | "consumer">>;
  readonly #redis: ScriptedRedis;
  /** Blocking reads hold a connection: the workers get their own. */
  #reader?: Redis;
  #running = false;
  #active = 0;
  #loops: Promise<void>[] = [];
  #idle: (() => void)[] = [];
  /** Aborted by `close`: ends the loops' sleeps and waits at once. */
  readonly #stopping = new AbortController();
  /** Set when `close` gave up waiting: a run finishing later neither acknowledges nor dead-letters. */
  #abandoned = false;

  constructor(
    redis: Redis,
    private readonly handle: (payload: string, meta: StreamEntryMeta) => Promise<void>,
    private readonly onOutcome: (outcome: ProcessOutcome, payload: string, error?: unknown, trimmed?: number) => void = () => undefined,
    options: StreamQueueOptions = {},
  ) {
    const keys = streamKeys(options.prefix ?? "gemini-webhooks:");
    this.stream = keys.events;
    this.deadLetterStream = keys.deadLetter;
    this.trimmedKey = keys.trimmed;
    this.#seen = keys.seen;
    this.#group = options.group ?? "receivers";
    this.#consumer = options.consumer ?? `${process.env.HOSTNAME ?? "receiver"}-${process.pid}-${randomBytes(3).toString("hex")}`;
    const visibilityTimeoutMs = options.visibilityTimeoutMs ?? 30_000;
    this.#options = {
      concurrency: options.concurrency ?? 8,
      maxLength: options.maxLength ?? 100_000,
      visibilityTimeoutMs,
      maxAttempts: options.maxAttempts ?? 5,
      deadLetterMax: options.deadLetterMax ?? 10_000,
      dedupSeconds: options.dedupSeconds ?? 25 * 60 * 60,
      claimIntervalMs: options.claimIntervalMs ?? Math.max(100, Math.floor(visibilityTimeoutMs / 2)),
    };
    this.#redis = redis as ScriptedRedis;
    if (!this.#redis.geminiAccept) {
      redis.defineCommand("geminiAccept", { lua: ACCEPT });
      redis.defineCommand("geminiAck", { numberOfKeys: 1, lua: ACK });
      redis.defineCommand("geminiDeadLetter", { numberOfKeys: 3, lua: DEAD_LETTER });
    }
  }

  /** The atomic accept step: dedup on every key and append, or nothing. */
  async accept(dedupKeys: string[], payload: string, traceparent = ""): Promise<AcceptResult> {
    const keys = [...dedupKeys.map(this.#seen), this.stream];
    return this.#redis.geminiAccept(keys.length, ...keys, this.#options.dedupSeconds, this.#options.maxLength, payload, traceparent);
  }

  /** Entries in the dead-letter stream. */
  async deadLetters(): Promise<number> {
    return this.#redis.xlen(this.deadLetterStream);
  }

  /** Handler runs in flight in this replica. */
  get active(): number {
    return this.#active;
  }

  /** Entries accepted and not yet acknowledged (waiting, in flight or waiting for a retry). */
  async depth(): Promise<number> {
    return this.#redis.xlen(this.stream);
  }

  /** Starts the workers; with Redis not reachable yet they keep trying (deliveries get 503 meanwhile). */
  async start(): Promise<void> {
    if (this.#redis.status === "ready") await this.#ensureGroup().catch(() => undefined);
    this.#reader = this.#redis.duplicate();
    this.#reader.on("error", () => undefined); // the main connection reports outages
    this.#running = true;
    this.#loops = [this.#readLoop(), this.#claimLoop()];
  }

  /**
   * Stops taking work at once, gives the handlers in flight up to `timeoutMs` and acknowledges
   * those that finish. Resolves with how many were still running: they stay pending in the group,
   * and another replica takes them over after the visibility timeout.
   */
  async close(timeoutMs = Infinity): Promise<number> {
    this.#running = false;
    this.#stopping.abort();
    this.#wakeSlotWaiters();
    this.#reader?.disconnect(); // ends a blocking read at once
    await Promise.allSettled(this.#loops);
    if (this.#active > 0) await within(new Promise<void>((resolve) => this.#idle.push(resolve)), timeoutMs);
    const unfinished = this.#active;
    if (unfinished > 0) this.#abandoned = true;
    await this.#acks?.done.catch(() => undefined); // the last acknowledgements reach Redis before it is closed
    return unfinished;
  }

  /** Creates the group (from the stream's first entry) unless it exists. */
  async #ensureGroup(): Promise<void> {
    try {
      await this.#redis.xgroup("CREATE", this.stream, this.#group, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
  }

  /** A Redis that lost its data (restarted without persistence) lost the group too: make it again. */
  async #recover(err: unknown): Promise<void> {
    if (String((err as Error)?.message).includes("NOGROUP")) await this.#ensureGroup().catch(() => undefined);
    else await sleep(500, this.#stopping.signal);
  }

  async #readLoop(): Promise<void> {
    // New entries only: what a dead replica (or this one, before a restart) left pending is taken
    // over by the claim loop once it has been idle for the visibility timeout.
    while (this.#running) {
      try {
        await this.#waitForSlot();
        if (!this.#running) break;
        const count = this.#options.concurrency - this.#active;
        const reply = (await this.#reader!.xreadgroup(
          "GROUP", this.#group, this.#consumer, "COUNT", count, "BLOCK", 1000, "STREAMS", this.stream, ">",
        )) as [string, Entry[]][] | null;
        for (const [id, fields] of reply?.[0]?.[1] ?? []) this.#run(id, fields, 1);
      } catch (err) {
        if (this.#running) await this.#recover(err); // Redis unreachable or emptied: try again
      }
    }
  }

  async #claimLoop(): Promise<void> {
    while (this.#running) {
      await sleep(this.#options.claimIntervalMs, this.#stopping.signal);
      if (!this.#running) break;
      try {
        let cursor = "0-0";
        do {
          await this.#waitForSlot();
          if (!this.#running) return;
          const [next, claimed] = (await this.#redis.xautoclaim(
            this.stream, this.#group, this.#consumer, this.#options.visibilityTimeoutMs, cursor, "COUNT", this.#options.concurrency - this.#active,
          )) as [string, Entry[], string[]?];
          cursor = next;
          for (const [id, fields] of claimed) {
            const attempts = await this.#deliveries(id);
            this.#run(id, fields, attempts);
          }
        } while (cursor !== "0-0" && this.#running);
      } catch (err) {
        await this.#recover(err); // the next round tries again
      }
    }
  }

  /** How many times the group has delivered `id` (the claim just counted one more). */
  async #deliveries(id: string): Promise<number> {
    const rows = (await this.#redis.xpending(this.stream, this.#group, id, id, 1)) as [string, string, number, number][];
    return rows[0]?.[3] ?? 1;
  }

  #run(id: string, fields: Fields | null, attempt: number): void {
    const payload = field(fields, "event");
    const traceparent = field(fields, "traceparent");
    this.#active++;
    const done = async () => {
      if (payload === undefined) {
        // Trimmed or deleted while pending: nothing to run; release the id.
        await this.#ack(id);
        return;
      }
      try {
        await this.handle(payload, { entryId: id, attempt, ...(traceparent ? { traceparent } : {}) });
      } catch (err) {
        if (this.#abandoned) return; // shutting down: left pending for another replica
        if (attempt >= this.#options.maxAttempts) {
          const trimmed = await this.#redis.geminiDeadLetter(
            this.stream, this.deadLetterStream, this.trimmedKey, this.#group, id, payload,
            errorText(err), attempt, failureReason(err), this.#consumer, this.#options.deadLetterMax,
          );
          this.onOutcome("dead_letter", payload, err, trimmed);
        } else {
          this.onOutcome("failed", payload, err); // stays pending: taken over after the visibility timeout
        }
        return;
      }
      if (this.#abandoned) return;
      await this.#ack(id);
      this.onOutcome("ok", payload);
    };
    done()
      .catch(() => undefined) // an ack lost to an outage: the entry runs again later (at-least-once)
      .finally(() => {
        this.#active--;
        if (this.#active === 0) this.#idle.splice(0).forEach((resolve) => resolve());
        this.#wakeSlotWaiters();
      });
  }

  /** Acknowledgements made in the same tick go to Redis as one call. */
  #acks?: { ids: string[]; done: Promise<void> };

  #ack(id: string): Promise<void> {
    if (!this.#acks) {
      const batch = { ids: [] as string[], done: Promise.resolve() };
      batch.done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#acks = undefined;
        await this.#redis.geminiAck(this.stream, this.#group, ...batch.ids);
      });
      this.#acks = batch;
    }
    this.#acks.ids.push(id);
    return this.#acks.done;
  }

  /** The read and claim loops waiting for a free handler slot (woken by a finished run or by close). */
  #slotWaiters: (() => void)[] = [];

  #wakeSlotWaiters(): void {
    this.#slotWaiters.splice(0).forEach((wake) => wake());
  }

  async #waitForSlot(): Promise<void> {
    while (this.#running && this.#active >= this.#options.concurrency) {
      await new Promise<void>((resolve) => this.#slotWaiters.push(resolve));
    }
  }
}

/** A field of a stream entry (`[name, value, name, value, …]`). */
export function field(fields: Fields | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i < fields.length - 1; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function errorText(err: unknown): string {
  return (err instanceof Error ? `${err.name}: ${err.message}` : String(err)).slice(0, 1000);
}

/** Resolves after `ms`, or at once when `signal` is aborted. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    timer.unref();
    signal?.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
  });
}
