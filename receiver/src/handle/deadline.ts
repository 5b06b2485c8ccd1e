/**
 * The deadline on user code: a handler run gets `meta.signal` and at most `timeoutMs`. Past it the
 * signal is aborted and the run counts as failed with the reason `timeout` — its slot is free at
 * once, whether or not the handler's promise ever settles. The receiver's shutdown aborts the runs
 * still going too (reason `shutdown`), so well-written handlers stop before the process exits.
 *
 * Cheap on the hot path (measured: a timer, an AbortController and an abort listener per event cost
 * about a quarter of a delivery's CPU): one sweeper timer checks every run in flight, the handler's
 * `meta` is a plain class instance, and its AbortController is made only if it reads `meta.signal`.
 */
import type { HandlerMeta } from "./event";
export class HandlerTimeoutError extends Error {
  override readonly name = "HandlerTimeoutError";
  readonly code = "ERR_HANDLER_TIMEOUT";
  readonly reason = "timeout";

  constructor(readonly timeoutMs: number) {
    super(`the handler did not finish within HANDLER_TIMEOUT_MS (${timeoutMs} ms)`);
  }
}

export class ShutdownError extends Error {
  override readonly name = "ShutdownError";
  readonly code = "ERR_RECEIVER_SHUTDOWN";
  readonly reason = "shutdown";

  constructor() {
    super("the receiver is shutting down");
  }
}

/**
 * One handler run: the `meta` the handler gets (a plain class, so reading it stays fast) and its
 * deadline state. `signal` makes the run's AbortController on first use.
 */
class HandlerRun implements HandlerMeta {
  readonly startedAt = performance.now();
  controller?: AbortController;
  reject?: (err: Error) => void;

  constructor(
    readonly webhookId: string,
    readonly type: string,
    readonly kind: "static" | "dynamic",
    readonly attempt: number,
  ) {}

  get signal(): AbortSignal {
    return (this.controller ??= new AbortController()).signal;
  }
}

export class Deadlines {
  readonly #runs = new Set<HandlerRun>();
  readonly #intervalMs: number;
  #sweeper?: NodeJS.Timeout;
  #stopped = false;

  constructor(private readonly timeoutMs: number) {
    // Checked four times per deadline (between 10 ms and 1 s apart): a run stops within 25 % of it.
    this.#intervalMs = Math.min(1_000, Math.max(10, Math.floor(timeoutMs / 4)));
  }

  /** Runs `work(meta)`, rejecting with HandlerTimeoutError after the deadline (or ShutdownError at `abortAll`). */
  run(meta: Omit<HandlerMeta, "signal">, work: (meta: HandlerMeta) => Promise<void>): Promise<void> {
    if (this.#stopped) return Promise.reject(new ShutdownError());
    const run = new HandlerRun(meta.webhookId, meta.type, meta.kind, meta.attempt);
    this.#runs.add(run);
    if (!this.#sweeper) this.#startSweeper();
    let running: Promise<void>;
    try {
      running = work(run);
    } catch (err) {
      this.#runs.delete(run);
      return Promise.reject(err);
    }
    return new Promise<void>((resolve, reject) => {
      run.reject = reject;
      running.then(
        () => {
          if (this.#runs.delete(run)) resolve();
        },
        (err: unknown) => {
          if (this.#runs.delete(run)) reject(err);
        },
      );
    });
  }

  /** Stops every run in flight (shutdown): their signals abort, their promises reject. */
  abortAll(): void {
    this.#stopped = true;
    for (const run of [...this.#runs]) this.#fail(run, new ShutdownError());
    this.#stopSweeper();
  }

  #fail(run: HandlerRun, err: Error): void {
    this.#runs.delete(run);
    run.controller?.abort(err);
    run.reject?.(err);
  }

  #startSweeper(): void {
    this.#sweeper = setInterval(() => {
      const now = performance.now();
      for (const run of this.#runs) {
        if (now - run.startedAt >= this.timeoutMs) this.#fail(run, new HandlerTimeoutError(this.timeoutMs));
      }
      if (this.#runs.size === 0) this.#stopSweeper();
    }, this.#intervalMs);
    this.#sweeper.unref();
  }

  #stopSweeper(): void {
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
  }
}
