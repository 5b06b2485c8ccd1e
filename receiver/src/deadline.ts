/**
 * The deadline on user code: a handler run gets `meta.signal` and at most `timeoutMs`. Past it the
 * signal is aborted and the run counts as failed with the reason `timeout` — its slot is free at
 * once, whether or not the handler's promise ever settles. The receiver's shutdown aborts the signal
 * too (reason `shutdown`), so well-written handlers stop before the process exits.
 */
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

/** Runs `work(signal)`; rejects with HandlerTimeoutError after `timeoutMs` (or ShutdownError when `outer` aborts first). */
export function withDeadline(work: (signal: AbortSignal) => Promise<void>, timeoutMs: number, outer?: AbortSignal): Promise<void> {
  const controller = new AbortController();
  return new Promise<void>((resolve, reject) => {
    const stop = (reason: Error) => {
      cleanup();
      controller.abort(reason);
      reject(reason);
    };
    const onOuter = () => stop(new ShutdownError());
    const timer = setTimeout(() => stop(new HandlerTimeoutError(timeoutMs)), timeoutMs);
    function cleanup() {
      clearTimeout(timer);
      outer?.removeEventListener("abort", onOuter);
    }
    if (outer?.aborted) return onOuter();
    outer?.addEventListener("abort", onOuter, { once: true });
    let running: Promise<void>;
    try {
      running = work(controller.signal);
    } catch (err) {
      cleanup();
      return reject(err);
    }
    running.then(
      () => {
        cleanup();
        resolve();
      },
      (err: unknown) => {
        cleanup();
        reject(err);
      },
    );
  });
}
