/**
 * Where the portable verifier remembers deliveries it has handled (`WebVerifyOptions.dedup`): one
 * interface, a store per platform. `claim` is true the first time a key is seen within `ttlSeconds`;
 * a store that cannot answer throws, and the delivery is answered 5xx (Gemini retries it), never 200.
 * Keys are what the verifier asks for: a `webhook-id` (1–256 printable ASCII characters) or a dynamic
 * token's hash, under a prefix of the store's own.
 */
export interface DedupStore {
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forgets a claimed key: the delivery's handling failed, and Gemini's retry must be handled, not refused as a duplicate. */
  release(key: string): Promise<void>;
}

const PREFIX = "gemini-webhooks:dedup:";

/** Keys in this isolate's memory, at most `maxEntries` (the oldest forgotten first): one process, one isolate. */
export class MemoryDedup implements DedupStore {
  readonly #expiry = new Map<string, number>();

  constructor(private readonly maxEntries = 10_000) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const now = Date.now();
    const until = this.#expiry.get(key);
    if (until !== undefined && until > now) return false;
    this.#expiry.delete(key);
    this.#expiry.set(key, now + ttlSeconds * 1000);
    while (this.#expiry.size > this.maxEntries) this.#expiry.delete(this.#expiry.keys().next().value!);
    return true;
  }

  async release(key: string): Promise<void> {
    this.#expiry.delete(key);
  }
}

/** Sends one Redis command and returns its reply: node-redis `(args) => client.sendCommand(args)`, ioredis `(args) => redis.call(...args)`, Bun `(args) => redis.send(args[0], args.slice(1))`. */
export type RedisCommand = (args: string[]) => Promise<unknown>;

/**
 * Redis (any client that sends a command): one `SET key 1 NX EX ttl` per key — atomic, so two
 * instances handed the same delivery at once handle it once.
 */
export class RedisDedup implements DedupStore {
  constructor(private readonly send: RedisCommand, private readonly prefix = PREFIX) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    return (await this.send(["SET", this.prefix + key, "1", "NX", "EX", String(Math.max(1, Math.ceil(ttlSeconds)))])) === "OK";
  }

  async release(key: string): Promise<void> {
    await this.send(["DEL", this.prefix + key]);
  }
}

/** The part of a Deno KV database (`await Deno.openKv()`) this store uses. */
export interface DenoKvLike {
  atomic(): DenoKvAtomic;
  delete(key: readonly unknown[]): Promise<void>;
}
interface DenoKvAtomic {
  check(...checks: { key: readonly unknown[]; versionstamp: string | null }[]): DenoKvAtomic;
  set(key: readonly unknown[], value: unknown, options?: { expireIn?: number }): DenoKvAtomic;
  commit(): Promise<{ ok: boolean }>;
}

/**
 * Deno KV (Deno Deploy, or a local database): one atomic "set unless present" per key, so concurrent
 * isolates handle a delivery once. Deno deletes expired keys some time after `expireIn`, never before.
 */
export class DenoKvDedup implements DedupStore {
  constructor(private readonly kv: DenoKvLike, private readonly prefix: readonly string[] = ["gemini-webhooks", "dedup"]) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const entry = [...this.prefix, key];
    const result = await this.kv.atomic().check({ key: entry, versionstamp: null }).set(entry, 1, { expireIn: Math.ceil(ttlSeconds * 1000) }).commit();
    return result.ok;
  }

  async release(key: string): Promise<void> {
    await this.kv.delete([...this.prefix, key]);
  }
}

/** The part of a Workers KV namespace binding this store uses. */
export interface WorkersKvLike {
  get(key: string): Promise<string | null>;
  put(key: string, value: string, options?: { expirationTtl?: number }): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * Workers KV: a read, then a write with `expirationTtl` (KV's minimum is 60 s). KV has no
 * compare-and-set and its writes take up to 60 s to reach other locations, so this catches Gemini's
 * retries (minutes apart) but not two copies of a delivery arriving at once at two locations — use
 * RedisDedup (a Redis the Worker reaches) or a Durable Object where that matters.
 */
export class WorkersKvDedup implements DedupStore {
  constructor(private readonly kv: WorkersKvLike, private readonly prefix = PREFIX) {}

  async claim(key: string, ttlSeconds: number): Promise<boolean> {
    const name = this.prefix + key;
    if ((await this.kv.get(name)) !== null) return false;
    await this.kv.put(name, "1", { expirationTtl: Math.max(60, Math.ceil(ttlSeconds)) });
    return true;
  }

  async release(key: string): Promise<void> {
    await this.kv.delete(this.prefix + key);
  }
}
