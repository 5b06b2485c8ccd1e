/**
 * `gemini-webhooks-receiver` (no command): the server. Signals: SIGTERM/SIGINT start the bounded
 * shutdown (SHUTDOWN_TIMEOUT_MS; a second signal exits at once), SIGHUP re-reads the secrets file.
 * Started through a launcher that does not forward signals (`npx`, `npm exec`), the server also
 * stops when its parent goes away, so it never lingers as an orphan holding its port.
 */
import { loadConfig } from "./config";
import { loadHandlerModule } from "./handler-module";
import { buildReceiver } from "./server";

export async function serve(): Promise<void> {
  const config = loadConfig();
  const handler = config.handlerModule ? await loadHandlerModule(config.handlerModule) : undefined;
  const receiver = buildReceiver(config, { handler });
  const { url, metricsUrl } = await receiver.listen();
  receiver.app.log.info({ url, metrics: metricsUrl ?? `${url}/metrics`, handoff: receiver.handoff.kind }, "receiver listening");
  process.on("SIGHUP", () => receiver.reloadSecrets());

  let stopping = false;
  const stop = (why: string) => {
    if (stopping) {
      receiver.app.log.warn({ why }, "second stop request: exiting now");
      process.exit(1);
    }
    stopping = true;
    const startedAt = Date.now();
    receiver.app.log.info({ why, timeout_ms: config.shutdownTimeoutMs }, "shutting down: refusing new deliveries, finishing handlers in flight");
    // A backstop: whatever hangs (a connection that will not close), the process is gone in time.
    setTimeout(() => {
      receiver.app.log.warn("shutdown backstop reached; exiting");
      process.exit(0);
    }, config.shutdownTimeoutMs + 900).unref();
    receiver.shutdown().then(
      ({ unfinished }) => {
        receiver.app.log.info({ unfinished, ms: Date.now() - startedAt }, "stopped");
        process.exit(0);
      },
      (err: unknown) => {
        receiver.app.log.error({ err: { message: (err as Error).message } }, "shutdown failed");
        process.exit(1);
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
