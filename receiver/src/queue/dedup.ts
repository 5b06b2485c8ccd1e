/**
 * Deduplication by `webhook-id` over the sender's whole retry horizon (25 h by default, longer than
 * Gemini's 24 h of retries). `claim` is atomic; `release` gives a claim back when the event could
 * not be enqueued, so the sender's retry is processed.
 */

export interface DedupStore {
  /** True when this id was not seen within the horizon (and is now claimed). */
  claim(id: string): Promise<boolean>;
  /** False while the store cannot answer (Redis unreachable): deliveries get 503, /healthz reports it. */
  ready(): boolean;
  release(id: string): Promise<void>;
  close(): Promise<void>;
}

export const DEFAULT_DEDUP_HORIZON_SECONDS = 25 * 60 * 60;

/** One process's memory: ids expire after the horizon; swept in the background. */
export class MemoryDedup implements DedupStore {
  readonly #expiries = new Map<string, number>();
  readonly #sweeper: NodeJS.Timeout;

  constructor(
    private readonly horizonSeconds = DEFAULT_DEDUP_HORIZON_SECONDS,
    private readonly now: () => number = Date.now,
    /** Bound on remembered ids; the oldest are forgotten first (default 1,000,000). */
    private readonly maxEntries = 1_000_000,
  ) {
    this.#sweeper = setInterval(() => this.#sweep(), 60_000);
    this.#sweeper.unref();
  }

  async claim(id: string): Promise<boolean> {
    const now = this.now();
    const expiry = this.#expiries.get(id);
    if (expiry !== undefined && expiry > now) return false;
    this.#expiries.delete(id);
    this.#expiries.set(id, now + this.horizonSeconds * 1000);
    if (this.#expiries.size > this.maxEntries) this.#expiries.delete(this.#expiries.keys().next().value as string);
    return true;
  }

  async release(id: string): Promise<void> {
    this.#expiries.delete(id);
  }

  ready(): boolean {
    return true;
  }

  async close(): Promise<void> {
    clearInterval(this.#sweeper);
  }

  #sweep(): void {
    const now = this.now();
    // Insertion order is expiry order (one horizon for all), so stop at the first live id.
    for (const [id, expiry] of this.#expiries) {
      if (expiry > now) break;
      this.#expiries.delete(id);
    }
  }
}
