/**
 * The consume path of the durable hand-off (the accept path is stream-accept.ts). Workers in every
 * replica read every partition through one consumer group (`XREADGROUP`), run the handler and
 * acknowledge (`XACK` + `XDEL` in one script, so the streams' length is the backlog).
 * - Entries left pending by a dead replica, or by a handler that failed or ran past its deadline,
 *   are claimed after `visibilityTimeoutMs` (`XAUTOCLAIM`) and run again; past `maxAttempts`
 *   deliveries an entry moves to its partition's dead-letter stream (bounded by `deadLetterMax`,
 *   the trimmed ones counted) with its last error and reason (`error` or `timeout`).
 * - What releases up to 0.3 left in their one stream is finished (`legacy`).
 * - `close(ms)` stops reading at once, gives the handlers in flight up to `ms` and acknowledges
 *   those that finish; the others stay pending, for another replica to take over.
 */
import { once } from "node:events";
import type { PartitionKeys } from "./partitions";
import { duplicateWithTimeout, type RedisClient } from "./redis";
import { within } from "./wait";

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

export type ProcessOutcome = "ok" | "failed" | "dead_letter" | "dropped";

// KEYS: an earlier release's dead-letter stream and trimmed counter, partition 0's. Moves up to 100
// entries (fields kept, \`migrated_from\` added) and the count; returns how many moved.
const MIGRATE_DEAD_LETTERS = `
local rows = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 100)
for _, row in ipairs(rows) do
  local fields = row[2]
  fields[#fields + 1] = 'migrated_from'
  fields[#fields + 1] = row[1]
  redis.call('XADD', KEYS[3], '*', unpack(fields))
  redis.call('XDEL', KEYS[1], row[1])
end
if redis.call('XLEN', KEYS[1]) == 0 then redis.call('DEL', KEYS[1]) end
local trimmed = tonumber(redis.call('GET', KEYS[2]) or '0')
if trimmed > 0 then redis.call('INCRBY', KEYS[4], trimmed) redis.call('DEL', KEYS[2]) end
return #rows`;

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

interface ConsumeScripts {
  geminiAck(stream: string, group: string, ...ids: string[]): Promise<number>;
  geminiMigrateDeadLetters(from: string, fromTrimmed: string, to: string, toTrimmed: string): Promise<number>;
  geminiDeadLetter(stream: string, dlq: string, trimmed: string, group: string, id: string, payload: string, error: string, attempts: number, reason: string, consumer: string, max: number): Promise<number>;
}
type ScriptedRedis = RedisClient & ConsumeScripts;

export interface StreamConsumerOptions {
  group: string;
  /** This replica's consumer name. */
  consumer: string;
  /** Handlers running at once in this replica. */
  concurrency: number;
  /** How long an entry may stay pending before another replica takes it over. */
  visibilityTimeoutMs: number;
  /** Deliveries of one entry before it moves to the dead-letter stream. */
  maxAttempts: number;
  /** Entries each dead-letter stream keeps; the oldest beyond are trimmed and counted. */
  deadLetterMax: number;
  /** How often this replica looks for entries to take over. */
  claimIntervalMs: number;
  /**
   * A failed run is tried again by this replica after retryBaseMs × 2^(attempt−1), with jitter (half
   * to all of it), at most 80 % of the visibility timeout (default 2 000 ms).
   */
  retryBaseMs?: number;
  /** Runs failing in a row that open the circuit: reading pauses, half-open probes follow (default 20; 0: never). */
  circuitFailures?: number;
  /** Told when the circuit opens (with the pause before the next probe) and when it closes again. */
  onCircuit?: (state: "open" | "closed", info: { failuresInARow: number; pauseMs?: number }) => void;
}

/** The circuit's pause before its first probe, and the most it grows to (doubling at each failed probe). */
/** How long a read for new entries blocks in Redis. */
const READ_BLOCK_MS = 1_000;
/**
 * How much longer than the block a reader waits for the reply. The main connection's fast failure
 * (2 s) is too short here: an event loop stalled past it (a loaded machine, a GC pause) would give up
 * on a reply that already handed entries to this consumer, leaving them pending for the visibility
 * timeout (test/receiver/reader-lag.test.ts).
 */
const READER_REPLY_GRACE_MS = 30_000;
/**
 * An entry delivered to this consumer, idle this long, that this replica neither runs nor holds for a
 * retry, was lost between Redis and this process (a reply cut by a reset connection, a reconnect):
 * it is run again without waiting for the visibility timeout. Far above any event-loop stall, so a
 * reply still on its way is not run twice.
 */
const ORPHAN_IDLE_MS = 10_000;
const CIRCUIT_PAUSE_MS = 5_000;
const CIRCUIT_MAX_PAUSE_MS = 60_000;

export class StreamConsumer {
  readonly #group: string;
  readonly #consumer: string;
  readonly #options: StreamConsumerOptions;
  readonly #redis: ScriptedRedis;
  /** Blocking reads hold a connection: each partition's reader has its own. */
  #readers: RedisClient[] = [];
  #running = false;
  #active = 0;
  /** Handler slots a blocked read has asked for (so readers of several partitions never overcommit). */
  #reserved = 0;
  #loops: Promise<void>[] = [];
  #idle: (() => void)[] = [];
  /** Aborted by `close`: ends the loops' sleeps and waits at once. */
  readonly #stopping = new AbortController();
  /** Set when `close` gave up waiting: a run finishing later neither acknowledges nor dead-letters. */
  #abandoned = false;
  /** Set once `close` is done: acknowledgements are no longer tried again. */
  #closed = false;
  /**
   * The circuit: `closed` (runs as usual), `open` (no run starts: reads, claims and retries wait,
   * so a broken downstream does not burn every event's attempts), `half-open` (one run at a time, a
   * probe: success closes it, failure opens it again for twice as long).
   */
  #circuit: "closed" | "open" | "half-open" = "closed";
  #failuresInARow = 0;
  #pauseMs = CIRCUIT_PAUSE_MS;
  #circuitTimer?: NodeJS.Timeout;
  /** Local retries waiting for their backoff to end. */
  readonly #retries = new Set<NodeJS.Timeout>();
  /** Retries that came due while the circuit was open: tried once it lets runs start again. */
  #parked: { partition: PartitionKeys; id: string }[] = [];
  /** Entries running in this replica (a parked retry and a claim never run one twice at once). */
  readonly #inFlight = new Set<string>();
  /** Entries this replica holds for a retry (waiting for their backoff, or parked while the circuit is open). */
  readonly #held = new Set<string>();

  constructor(
    redis: RedisClient,
    readonly partitions: readonly PartitionKeys[],
    /** An earlier release's stream this replica finishes (not on a Cluster). */
    readonly legacy: PartitionKeys | undefined,
    private readonly handle: (payload: string, meta: StreamEntryMeta) => Promise<void>,
    private readonly onOutcome: (outcome: ProcessOutcome, payload: string, error?: unknown, trimmed?: number) => void,
    options: StreamConsumerOptions,
  ) {
    this.#group = options.group;
    this.#consumer = options.consumer;
    this.#options = options;
    this.#redis = redis as ScriptedRedis;
    if (!this.#redis.geminiAck) {
      redis.defineCommand("geminiAck", { numberOfKeys: 1, lua: ACK });
      redis.defineCommand("geminiMigrateDeadLetters", { numberOfKeys: 4, lua: MIGRATE_DEAD_LETTERS });
      redis.defineCommand("geminiDeadLetter", { numberOfKeys: 3, lua: DEAD_LETTER });
    }
  }

  /** Entries in the dead-letter streams. */
  async deadLetters(): Promise<number> {
    return (await this.counts()).deadLetters;
  }

  /**
   * The backlog and the dead letters in one round trip per partition (its two keys share a slot,
   * so one pipeline each, even on a Cluster). Rejects when Redis does not answer.
   */
  async counts(): Promise<{ depth: number; deadLetters: number; pending: number; oldestAcceptedAt?: number }> {
    const replies = await Promise.all(
      this.#all().map(async (p) => {
        const pipeline = this.#redis.pipeline().xlen(p.events).xlen(p.deadLetter).xrange(p.events, "-", "+", "COUNT", 1).call("XPENDING", p.events, this.#group);
        const results = (await pipeline.exec()) ?? [];
        for (const [err] of results) if (err && !String((err as Error).message).includes("NOGROUP")) throw err;
        const [[, depth], [, dead], [, first], [, summary]] = results as [unknown, unknown][];
        const oldest = (first as Entry[] | null)?.[0]?.[0];
        return { depth: Number(depth), dead: Number(dead), pending: Number((summary as [number] | null)?.[0] ?? 0), oldest: oldest ? Number(oldest.split("-")[0]) : undefined };
      }),
    );
    const oldest = replies.map((r) => r.oldest).filter((t): t is number => t !== undefined);
    return {
      depth: replies.reduce((sum, r) => sum + r.depth, 0),
      // the legacy stream's dead letters are moved to partition 0's: counted where they are
      deadLetters: replies.reduce((sum, r) => sum + r.dead, 0),
      pending: replies.reduce((sum, r) => sum + r.pending, 0),
      ...(oldest.length ? { oldestAcceptedAt: Math.min(...oldest) } : {}),
    };
  }

  /** Handler runs in flight in this replica. */
  get active(): number {
    return this.#active;
  }

  /** Entries accepted and not yet acknowledged (waiting, in flight or waiting for a retry). */
  async depth(): Promise<number> {
    return this.#sum(this.#all().map((p) => this.#redis.xlen(p.events)));
  }

  #all(): PartitionKeys[] {
    return this.legacy ? [...this.partitions, this.legacy] : [...this.partitions];
  }

  async #sum(counts: Promise<number>[]): Promise<number> {
    return (await Promise.all(counts)).reduce((a, b) => a + b, 0);
  }

  /** Starts the workers; with Redis not reachable yet they keep trying (deliveries get 503 meanwhile). */
  async start(): Promise<void> {
    // A connection still being made gets a moment: the groups are created, and the caller sees Redis's state.
    if (this.#redis.status !== "ready") await within(once(this.#redis, "ready").then(() => undefined, () => undefined), 2_000);
    if (this.#redis.status === "ready") await Promise.all(this.partitions.map((p) => this.#ensureGroup(p).catch(() => undefined)));
    this.#readers = this.partitions.map(() => {
      // Far above the read's BLOCK: only a connection that died without closing waits this long.
      const reader = duplicateWithTimeout(this.#redis, READ_BLOCK_MS + READER_REPLY_GRACE_MS);
      reader.on("error", () => undefined); // the main connection reports outages
      return reader;
    });
    this.#running = true;
    this.#loops = [...this.partitions.map((p) => this.#readLoop(p, this.#readers[p.index])), this.#claimLoop(), this.#sweepLoop()];
  }

  /**
   * Stops taking work at once, gives the handlers in flight up to `timeoutMs` and acknowledges
   * those that finish. Resolves with how many were still running: they stay pending in the group,
   * and another replica takes them over after the visibility timeout.
   */
  async close(timeoutMs = Infinity): Promise<number> {
    this.#running = false;
    this.#retries.forEach((timer) => clearTimeout(timer)); // left pending: another replica takes them over
    this.#retries.clear();
    clearTimeout(this.#circuitTimer);
    this.#stopping.abort();
    this.#wakeSlotWaiters();
    this.#readers.forEach((reader) => reader.disconnect()); // ends a blocking read at once
    await Promise.allSettled(this.#loops);
    if (this.#active > 0) await within(new Promise<void>((resolve) => this.#idle.push(resolve)), timeoutMs);
    const unfinished = this.#active;
    if (unfinished > 0) this.#abandoned = true;
    await Promise.allSettled([...this.#acks.values()].map((batch) => batch.done)); // the last acknowledgements reach Redis before it is closed
    this.#closed = true;
    return unfinished;
  }

  /** Creates the group (from the stream's first entry) unless it exists. */
  async #ensureGroup(partition: PartitionKeys): Promise<void> {
    try {
      await this.#redis.xgroup("CREATE", partition.events, this.#group, "0", "MKSTREAM");
    } catch (err) {
      if (!String((err as Error).message).includes("BUSYGROUP")) throw err;
    }
  }

  /** A Redis that lost its data (restarted without persistence) lost the group too: make it again. */
  async #recover(partition: PartitionKeys, err: unknown): Promise<void> {
    if (String((err as Error)?.message).includes("NOGROUP")) await this.#ensureGroup(partition).catch(() => undefined);
    else await sleep(500, this.#stopping.signal);
  }

  /**
   * A command's reply, or null once `close` has begun: a Cluster still looking for its slots can
   * hold a command past `disconnect()`, and shutdown must not wait for it.
   */
  #unlessStopped<T>(command: Promise<T>): Promise<T | null> {
    const signal = this.#stopping.signal;
    if (signal.aborted) return Promise.resolve(null);
    return new Promise<T | null>((resolve, reject) => {
      const stop = () => resolve(null);
      signal.addEventListener("abort", stop, { once: true });
      command.then(resolve, reject).finally(() => signal.removeEventListener("abort", stop));
    });
  }

  /** Slots one partition's read asks for: a fair share of the free ones, so no partition starves the others. */
  #share(): number {
    const free = this.#limit() - this.#active - this.#reserved;
    return Math.min(free, Math.max(1, Math.floor(this.#limit() / this.partitions.length)));
  }

  /** Runs allowed at once now: the concurrency, none while the circuit is open, one (the probe) while half-open. */
  #limit(): number {
    return this.#circuit === "closed" ? this.#options.concurrency : this.#circuit === "open" ? 0 : 1;
  }

  async #readLoop(partition: PartitionKeys, reader: RedisClient): Promise<void> {
    // New entries only: what a dead replica (or this one, before a restart) left pending is taken
    // over by the claim loop once it has been idle for the visibility timeout.
    while (this.#running) {
      try {
        await this.#waitForSlot();
        if (!this.#running) break;
        const count = this.#share();
        this.#reserved += count;
        let reply: [string, Entry[]][] | null;
        try {
          reply = (await this.#unlessStopped(reader.xreadgroup(
            "GROUP", this.#group, this.#consumer, "COUNT", count, "BLOCK", READ_BLOCK_MS, "STREAMS", partition.events, ">",
          ))) as [string, Entry[]][] | null;
        } finally {
          this.#reserved -= count;
          this.#wakeSlotWaiters(); // what this read did not use is free for the other partitions' reads
        }
        for (const [id, fields] of reply?.[0]?.[1] ?? []) this.#run(partition, id, fields, 1);
      } catch (err) {
        if (this.#running) await this.#recover(partition, err); // Redis unreachable or emptied: try again
      }
    }
  }

  async #claimLoop(): Promise<void> {
    while (this.#running) {
      if (this.legacy) await this.#finishLegacy(this.legacy).catch(() => undefined); // the next round tries again
      await sleep(this.#options.claimIntervalMs, this.#stopping.signal);
      for (const partition of this.partitions) {
        if (!this.#running) return;
        await this.#claim(partition).catch((err) => this.#recover(partition, err)); // the next round tries again
      }
    }
  }

  /**
   * An earlier release's stream: its dead letters move to partition 0's, what it left pending is
   * taken over, what it never delivered is read — until it is empty. Its group is never created:
   * with no stream (or no group) there is nothing to finish.
   */
  async #finishLegacy(legacy: PartitionKeys): Promise<void> {
    const target = this.partitions[0];
    while ((await this.#redis.geminiMigrateDeadLetters(legacy.deadLetter, legacy.trimmed, target.deadLetter, target.trimmed)) > 0);
    if ((await this.#redis.exists(legacy.events)) === 0) return;
    await this.#claim(legacy);
    for (;;) {
      await this.#waitForSlot(false);
      if (!this.#running) return;
      const reply = (await this.#redis.xreadgroup(
        "GROUP", this.#group, this.#consumer, "COUNT", this.#options.concurrency - this.#active, "STREAMS", legacy.events, ">",
      )) as [string, Entry[]][] | null;
      const entries = reply?.[0]?.[1] ?? [];
      if (entries.length === 0) return;
      for (const [id, fields] of entries) this.#run(legacy, id, fields, 1);
    }
  }

  async #claim(partition: PartitionKeys): Promise<void> {
    let cursor = "0-0";
    do {
      await this.#waitForSlot(false);
      if (!this.#running) return;
      const reply = (await this.#unlessStopped(this.#redis.xautoclaim(
        partition.events, this.#group, this.#consumer, this.#options.visibilityTimeoutMs, cursor, "COUNT", this.#options.concurrency - this.#active,
      ))) as [string, Entry[], string[]?] | null;
      if (!reply) return;
      const [next, claimed] = reply;
      cursor = next;
      for (const [id, fields] of claimed) {
        const attempts = await this.#deliveries(partition, id);
        this.#run(partition, id, fields, attempts);
      }
    } while (cursor !== "0-0" && this.#running);
  }

  /** Every ORPHAN_IDLE_MS / 2, the sweep of this consumer's own lost entries. */
  async #sweepLoop(): Promise<void> {
    while (this.#running) {
      await sleep(ORPHAN_IDLE_MS / 2, this.#stopping.signal);
      for (const partition of this.partitions) {
        if (!this.#running) return;
        await this.#sweepOwn(partition).catch(() => undefined); // the next round tries again
      }
    }
  }

  /** This consumer's own entries lost on their way here (ORPHAN_IDLE_MS): claimed again (still idle) and run. */
  async #sweepOwn(partition: PartitionKeys): Promise<void> {
    const rows = (await this.#unlessStopped(
      this.#redis.xpending(partition.events, this.#group, "IDLE", ORPHAN_IDLE_MS, "-", "+", 100, this.#consumer),
    )) as [string, string, number, number][] | null;
    for (const [id] of rows ?? []) {
      const key = `${partition.index}/${id}`;
      if (this.#inFlight.has(key) || this.#held.has(key)) continue;
      await this.#waitForSlot(false);
      if (!this.#running) return;
      if (this.#inFlight.has(key) || this.#held.has(key)) continue;
      // Min idle again: an entry run meanwhile (its idle reset) is not taken.
      const claimed = (await this.#redis.xclaim(partition.events, this.#group, this.#consumer, ORPHAN_IDLE_MS, id)) as unknown as Entry[];
      if (claimed.length === 0 || this.#inFlight.has(key)) continue;
      this.#run(partition, id, claimed[0][1], await this.#deliveries(partition, id));
    }
  }

  /** How many times the group has delivered `id` (the claim just counted one more). */
  async #deliveries(partition: PartitionKeys, id: string): Promise<number> {
    const rows = (await this.#redis.xpending(partition.events, this.#group, id, id, 1)) as [string, string, number, number][];
    return rows[0]?.[3] ?? 1;
  }

  #run(partition: PartitionKeys, id: string, fields: Fields | null, attempt: number): void {
    const payload = field(fields, "event");
    const traceparent = field(fields, "traceparent");
    const key = `${partition.index}/${id}`;
    this.#held.delete(key);
    this.#inFlight.add(key);
    this.#active++;
    const done = async () => {
      if (payload === undefined) {
        // Trimmed or deleted while pending: nothing to run; release the id.
        await this.#ack(partition, id);
        return;
      }
      try {
        await this.handle(payload, { entryId: id, attempt, ...(traceparent ? { traceparent } : {}) });
      } catch (err) {
        if (this.#abandoned) return; // shutting down: left pending for another replica
        if (attempt >= this.#options.maxAttempts) {
          const trimmed = await this.#redis.geminiDeadLetter(
            partition.events, partition.deadLetter, partition.trimmed, this.#group, id, payload,
            errorText(err), attempt, failureReason(err), this.#consumer, this.#options.deadLetterMax,
          );
          this.onOutcome("dead_letter", payload, err, trimmed);
        } else {
          this.onOutcome("failed", payload, err);
          this.#retryLater(partition, id, attempt, retryAfterOf(err)); // stays pending: this replica tries again after a backoff, another one after the visibility timeout
        }
        this.#failed();
        return;
      }
      if (this.#abandoned) return;
      this.#succeeded();
      // Counted when the run succeeds, not when its acknowledgement lands: an acknowledgement lost to a
      // failover (the entry then runs again) must not make a successful run vanish from the metrics.
      this.onOutcome("ok", payload);
      await this.#ack(partition, id);
    };
    done()
      .catch(() => undefined) // an ack lost to an outage: the entry runs again later (at-least-once)
      .finally(() => {
        this.#inFlight.delete(key);
        this.#active--;
        if (this.#active === 0) this.#idle.splice(0).forEach((resolve) => resolve());
        this.#wakeSlotWaiters();
      });
  }

  /**
   * Backoff: the failed entry's idle time is reset (so no replica takes it over meanwhile) and this
   * replica claims it again after retryBaseMs × 2^(attempt−1) with jitter, at most 80 % of the
   * visibility timeout. If this replica stops first, the entry stays pending and another one takes
   * it over after the visibility timeout, as before. While the circuit is open the retry waits for
   * the claim loop instead (no attempt is spent on a downstream known to be broken).
   */
  #retryLater(partition: PartitionKeys, id: string, attempt: number, retryAfterMs = 0): void {
    if (!this.#running) return;
    const base = this.#options.retryBaseMs ?? 2_000;
    const ceiling = this.#options.visibilityTimeoutMs * 0.8;
    const backoff = Math.min(ceiling, base * 2 ** (attempt - 1)) * (0.5 + Math.random() / 2);
    // A downstream's Retry-After (HANDLER_URL) moves the retry later, within the visibility timeout.
    const delay = Math.max(backoff, Math.min(ceiling, retryAfterMs));
    this.#redis.xclaim(partition.events, this.#group, this.#consumer, 0, id, "IDLE", 0, "JUSTID").catch(() => undefined);
    this.#held.add(`${partition.index}/${id}`);
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      void this.#retry(partition, id).catch(() => undefined); // left pending: the claim loop takes it after the visibility timeout
    }, delay);
    timer.unref();
    this.#retries.add(timer);
  }

  async #retry(partition: PartitionKeys, id: string): Promise<void> {
    if (!this.#running) return;
    if (this.#circuit === "open") {
      this.#parked.push({ partition, id });
      return;
    }
    await this.#waitForSlot(false);
    if (!this.#running || this.#inFlight.has(`${partition.index}/${id}`)) return;
    // Claimed again by this consumer (min idle 0: it is ours): the delivery count goes up by one.
    const claimed = (await this.#redis.xclaim(partition.events, this.#group, this.#consumer, 0, id)) as unknown as Entry[];
    if (claimed.length === 0) return void this.#held.delete(`${partition.index}/${id}`); // acknowledged, dead-lettered or deleted meanwhile
    const attempts = await this.#deliveries(partition, id);
    this.#run(partition, id, claimed[0][1], attempts);
  }

  #succeeded(): void {
    this.#failuresInARow = 0;
    if (this.#circuit === "closed") return;
    this.#circuit = "closed";
    this.#pauseMs = CIRCUIT_PAUSE_MS;
    this.#options.onCircuit?.("closed", { failuresInARow: 0 });
    this.#wakeSlotWaiters();
    this.#unpark();
  }

  /** The retries parked while the circuit was open, tried now (each waits for a slot: one at a time while half-open). */
  #unpark(): void {
    for (const { partition, id } of this.#parked.splice(0)) void this.#retry(partition, id).catch(() => undefined);
  }

  #failed(): void {
    this.#failuresInARow++;
    const threshold = this.#options.circuitFailures ?? 20;
    if (threshold === 0 || !this.#running) return;
    if (this.#circuit === "half-open") this.#pauseMs = Math.min(CIRCUIT_MAX_PAUSE_MS, this.#pauseMs * 2);
    else if (this.#circuit === "open" || this.#failuresInARow < threshold) return;
    this.#circuit = "open";
    this.#options.onCircuit?.("open", { failuresInARow: this.#failuresInARow, pauseMs: this.#pauseMs });
    clearTimeout(this.#circuitTimer);
    this.#circuitTimer = setTimeout(() => {
      this.#circuit = "half-open";
      this.#wakeSlotWaiters();
      this.#unpark();
    }, this.#pauseMs);
    this.#circuitTimer.unref();
  }

  /**
   * Acknowledgements made in the same turn go to Redis as one call per partition. One that meets
   * Redis down is tried again every 200 ms while the entry is still this replica's (inside the
   * visibility timeout): a blip or a failover does not make finished events run again.
   */
  #acks = new Map<number, { ids: string[]; since: number; done: Promise<void> }>();

  #ack(partition: PartitionKeys, id: string, since = Date.now()): Promise<void> {
    let batch = this.#acks.get(partition.index);
    if (!batch) {
      const created = { ids: [] as string[], since, done: Promise.resolve() };
      created.done = new Promise<void>((resolve) => setImmediate(resolve)).then(async () => {
        this.#acks.delete(partition.index);
        await this.#redis.geminiAck(partition.events, this.#group, ...created.ids).catch((err: unknown) => {
          this.#retryAcks(partition, created.ids, created.since);
          throw err;
        });
      });
      batch = created;
      this.#acks.set(partition.index, batch);
    }
    batch.ids.push(id);
    return batch.done;
  }

  #retryAcks(partition: PartitionKeys, ids: string[], since: number): void {
    if (this.#closed || Date.now() - since + 200 >= this.#options.visibilityTimeoutMs) return; // taken over by then: it runs again
    const timer = setTimeout(() => ids.forEach((id) => this.#ack(partition, id, since).catch(() => undefined)), 200);
    timer.unref();
  }

  /** The read and claim loops waiting for a free handler slot (woken by a finished run or by close). */
  #slotWaiters: (() => void)[] = [];

  #wakeSlotWaiters(): void {
    this.#slotWaiters.splice(0).forEach((wake) => wake());
  }

  /** Reads count the slots other partitions' blocked reads asked for; a claim does not (a blocked read may hold them for a second). */
  async #waitForSlot(reads = true): Promise<void> {
    while (this.#running && this.#active + (reads ? this.#reserved : 0) >= this.#limit()) {
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

/** How long the failed run's downstream asked to be left alone (`retryAfterMs` on the error), else 0. */
function retryAfterOf(err: unknown): number {
  const ms = (err as { retryAfterMs?: unknown })?.retryAfterMs;
  return typeof ms === "number" && Number.isFinite(ms) && ms > 0 ? ms : 0;
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
