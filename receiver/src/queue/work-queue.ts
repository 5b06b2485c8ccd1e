/**
 * The in-process queue between "accepted" (the 200 the sender gets) and the user's handler, so the
 * answer never waits for processing. Bounded: when full, `push` refuses and the delivery is
 * answered 503, so the sender retries later instead of the receiver running out of memory.
 */
import { within } from "./wait";

export class WorkQueue<T> {
  readonly #items: T[] = [];
  #active = 0;
  #drainWaiters: (() => void)[] = [];

  constructor(
    private readonly worker: (item: T) => Promise<void>,
    private readonly concurrency = 8,
    private readonly capacity = 10_000,
    private readonly onError: (err: unknown, item: T) => void = () => undefined,
  ) {}

  get size(): number {
    return this.#items.length + this.#active;
  }

  /** False when the queue is full. */
  push(item: T): boolean {
    if (this.size >= this.capacity) return false;
    this.#items.push(item);
    this.#pump();
    return true;
  }

  /** Resolves once every queued item has been processed, or after `timeoutMs`; with how many were left. */
  async drain(timeoutMs = Infinity): Promise<number> {
    if (this.size > 0) await within(new Promise<void>((resolve) => this.#drainWaiters.push(resolve)), timeoutMs);
    return this.size;
  }

  #pump(): void {
    while (this.#active < this.concurrency && this.#items.length > 0) {
      const item = this.#items.shift() as T;
      this.#active++;
      this.worker(item)
        .catch((err) => this.onError(err, item))
        .finally(() => {
          this.#active--;
          this.#pump();
          if (this.size === 0) this.#drainWaiters.splice(0).forEach((resolve) => resolve());
        });
    }
  }
}
