/**
 * `gemini-webhooks-receiver` (no command): the server. Signals: SIGTERM/SIGINT start the bounded
 * shutdown (SHUTDOWN_TIMEOUT_MS; a second signal exits at once), SIGHUP re-reads the secrets file.
 * Started through a launcher that does not forward signals (`npx`, `npm exec`), the server also
 * stops when its parent goes away, so it never lingers as an orphan holding its port. Logs go to
 * stdout without ever blocking (log-destination.ts), and shutdown ends within SHUTDOWN_TIMEOUT_MS
 * + 0.9 s whatever stdout or the handlers do (a watchdog thread kills it 1.5 s past the timeout).
 */
import { Worker } from "node:worker_threads";
import { loadConfig } from "./ops/config";
import { loadHandlerModule } from "./handle/handler-module";
import { NonBlockingDestination } from "./ops/log-destination";
import { buildReceiver } from "./http/server";
import { tracingCompatibility } from "./ops/tracing";

/**
 * The last resort of a bounded shutdown: a timer on its own thread, so nothing on the main one — a
 * handler spinning the CPU, a blocked write — can hold it up. It kills the process (exit status 137)
 * `ms` after it is armed; the main thread's own backstop normally exits well before.
 */
function armWatchdog(ms: number): void {
  const worker = new Worker(`setTimeout(() => process.kill(${process.pid}, "SIGKILL"), ${ms});`, { eval: true });
  worker.unref();
}

export async function serve(): Promise<void> {
  const config = loadConfig();
  const handler = config.handlerModule ? await loadHandlerModule(config.handlerModule) : undefined;
  const log = new NonBlockingDestination();
  const receiver = buildReceiver(config, { handler, logStream: log });
  const exit = (code: number) => {
    // The last lines get a moment to reach a slow reader, never more.
    void log.flush(300).then(() => process.exit(code));
  };
  const { url, metricsUrl } = await receiver.listen();
  receiver.app.log.info({ url, metrics: metricsUrl ?? `${url}/metrics`, handoff: receiver.handoff.kind }, "receiver listening");
  const tracingProblem = tracingCompatibility(); // after the handler module, which may register the SDK
  if (tracingProblem) receiver.app.log.warn(tracingProblem);
  process.on("SIGHUP", () => receiver.reloadSecrets());

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) {
      receiver.app.log.warn({ why }, "second stop request: exiting now");
      exit(1);
      return;
    }
    stopping = true;
    const startedAt = Date.now();
    receiver.app.log.info({ why, timeout_ms: config.shutdownTimeoutMs }, "shutting down: refusing new deliveries, finishing handlers in flight");
    // A backstop: whatever hangs (a connection that will not close), the process is gone in time.
    setTimeout(() => {
      receiver.app.log.warn("shutdown backstop reached; exiting");
      exit(0);
    }, config.shutdownTimeoutMs + 600).unref();
    armWatchdog(config.shutdownTimeoutMs + 1_500);
    receiver.shutdown().then(
      ({ unfinished }) => {
        receiver.app.log.info({ unfinished, ms: Date.now() - startedAt }, "stopped");
        exit(0);
      },
      (err: unknown) => {
        receiver.app.log.error({ err: { message: (err as Error).message } }, "shutdown failed");
        exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
  const parent = process.ppid;
  if (parent > 1) {
    setInterval(() => {
      if (process.ppid !== parent) stop("parent process exited");
    }, 500).unref();
  }
}
