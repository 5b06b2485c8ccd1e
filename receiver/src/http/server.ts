/**
 * The verifying receiver, built from its parts: configuration (config.ts), verification
 * (verify-*.ts, signing-keys.ts), the hand-off (handoff.ts: Redis Streams or memory), the routes and
 * probes (routes.ts), the handler's deadline and span (deadline.ts, tracing.ts), and here the
 * lifecycle: start, listen, and a shutdown bounded in time. Logs never hold secrets, signature
 * headers, tokens or bodies.
 */
import { createServer, Server } from "node:http";
import { once } from "node:events";
import type { AddressInfo } from "node:net";
import Fastify, { FastifyInstance, LogController } from "fastify";
import type { ReceiverConfig } from "../ops/config";
import { Deadlines, HandlerTimeoutError } from "../handle/deadline";
import { DedupStore, MemoryDedup } from "../queue/dedup";
import type { EventHandler } from "../handle/event";
import { createForwarder, Forwarder } from "../handle/forward";
import { DurableHandoff, Handoff, MemoryHandoff, OutcomeSink, Process } from "../queue/handoff";
import { ReceiverMetrics } from "../ops/metrics";
import { connectRedis, describeTopology } from "../queue/redis";
import { RefusalLog } from "./refusal-log";
import { registerProbes, registerWebhookRoutes } from "./routes";
import { SigningKeys } from "./signing-keys";
import { inHandleSpan } from "../ops/tracing";

export type { EventHandler, HandlerMeta, ReceivedEvent } from "../handle/event";

export interface ReceiverOptions {
  /** Your code (default: logs each event's type and id). `HANDLER_MODULE` sets it for the server. */
  handler?: EventHandler;
  /** In-memory mode only: where webhook ids are remembered (default: this process's memory). */
  dedup?: DedupStore;
  /** Handlers running at once (default: the config's HANDLER_CONCURRENCY). */
  concurrency?: number;
  /** In-memory mode: queue capacity (default: the config's QUEUE_MAX_LENGTH). */
  queueCapacity?: number;
  /** Pino destination for tests; default stdout. */
  logStream?: { write(line: string): unknown };
  /** Time a client has to send a whole request, ms (default 15 000): slowly sent bodies are cut off. */
  requestTimeoutMs?: number;
  /** Window in which repeated refusals of one reason become one log line (default 10 000 ms). */
  refusalLogWindowMs?: number;
}

export interface Receiver {
  app: FastifyInstance;
  metrics: ReceiverMetrics;
  /** `durable` (Redis Streams, REDIS_URL) or `memory` (development). */
  handoff: Handoff;
  /** Re-reads WEBHOOK_SIGNING_SECRETS_FILE (also on change and on SIGHUP); a malformed file keeps the old secrets. */
  reloadSecrets(): boolean;
  /** Starts the durable workers (`listen` does it too; `app.listen` alone accepts but does not handle). */
  start(): Promise<void>;
  /** Starts the workers and listens: the webhook port, and METRICS_PORT when set. */
  listen(): Promise<{ url: string; metricsUrl?: string }>;
  /** Resolves once nothing accepted is waiting or running (tests). */
  idle(): Promise<void>;
  /**
   * Stops at once accepting (503, not ready) and taking work, gives the handlers in flight up to
   * `timeoutMs` (default SHUTDOWN_TIMEOUT_MS), then aborts their signals, closes the listeners and
   * the store. Unfinished events stay pending for another replica (durable) or are lost (memory).
   */
  shutdown(timeoutMs?: number): Promise<{ unfinished: number }>;
  /** `shutdown()` with the configured timeout. */
  close(): Promise<void>;
}

const REDACT = ["req.headers.webhook-signature", "req.headers.authorization", "req.headers.x-goog-api-key", "req.headers.cookie"];

function createApp(config: ReceiverConfig, options: ReceiverOptions): FastifyInstance {
  const requestTimeout = options.requestTimeoutMs ?? 15_000;
  return Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACT, censor: "[redacted]" },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: true,
    // By the time the app closes, deliveries have had SHUTDOWN_TIMEOUT_MS of 503s: nothing open is worth waiting for.
    forceCloseConnections: true,
    // One line per processed event and per refusal is the log; a line per request is noise (and cost).
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: refusals log their own fields, and the allocation costs on every delivery.
    childLoggerFactory: (logger) => logger,
    requestTimeout, // a body sent byte by byte cannot hold a connection forever
    connectionTimeout: 20_000,
    // Node enforces requestTimeout when it checks its connections, every 30 s by default: a slow
    // sender then held a connection for up to 45 s (90 s seen). Checked every second instead.
    http: { connectionsCheckingInterval: 1_000, headersTimeout: Math.min(requestTimeout, 10_000) },
  });
}

/** The user's handler with its deadline (HANDLER_TIMEOUT_MS), the shutdown's abort and a span. */
function handlerRunner(handler: EventHandler, metrics: ReceiverMetrics, deadlines: Deadlines): Process {
  return (event, meta, traceparent, acceptedAt) => {
    const startedAt = performance.now();
    metrics.handlersInFlight.inc();
    const attributes = () => ({ "gemini_webhook.id": event.webhookId, "gemini_webhook.type": event.type, "gemini_webhook.kind": event.kind, "gemini_webhook.attempt": meta.attempt });
    const run = () => deadlines.run(meta, (runMeta) => handler(event, runMeta));
    return inHandleSpan(attributes, traceparent, run).then(
      () => {
        metrics.handlersInFlight.dec();
        metrics.observeProcessing("ok", startedAt);
        if (acceptedAt) metrics.eventLatency.observe(Math.max(0, Date.now() - acceptedAt) / 1000);
      },
      (err: unknown) => {
        metrics.handlersInFlight.dec();
        metrics.observeProcessing("error", startedAt);
        if (err instanceof HandlerTimeoutError) metrics.handlerTimeouts.inc();
        throw err;
      },
    );
  };
}

function outcomeLogger(app: FastifyInstance, metrics: ReceiverMetrics): OutcomeSink {
  return (outcome, event, err, trimmed) => {
    metrics.processed(outcome);
    if (trimmed) metrics.deadLettersTrimmed.inc(trimmed);
    if (outcome === "ok") return;
    const fields = { webhook_id: event?.webhookId, type: event?.type, reason: (err as { reason?: string })?.reason ?? "error", err: { message: (err as Error)?.message } };
    if (outcome === "dead_letter") {
      app.log.error({ ...fields, ...(trimmed ? { trimmed_oldest: trimmed } : {}) }, "handler failed for the last time: moved to the dead-letter stream (gemini-webhooks-receiver dead-letters list)");
    } else if (outcome === "dropped") {
      app.log.error(fields, "handler failed: in-memory mode does not retry, the event is dropped (set REDIS_URL for retries and dead letters)");
    } else {
      app.log.warn(fields, "handler failed; the event will be retried after HANDLER_VISIBILITY_TIMEOUT_MS");
    }
  };
}

function createHandoff(config: ReceiverConfig, options: ReceiverOptions, app: FastifyInstance, metrics: ReceiverMetrics, process: Process, onOutcome: OutcomeSink): Handoff {
  const concurrency = options.concurrency ?? config.handlerConcurrency;
  if (!config.redis) {
    return new MemoryHandoff(options.dedup ?? new MemoryDedup(), process, onOutcome, concurrency, options.queueCapacity ?? config.queueMaxLength);
  }
  const redis = config.redis;
  metrics.circuit("closed");
  return new DurableHandoff(connectRedis(redis, app.log), process, onOutcome, {
    prefix: redis.keyPrefix,
    partitions: redis.partitions,
    waitReplicas: redis.waitReplicas,
    waitTimeoutMs: redis.waitTimeoutMs,
    failoverWaitMs: redis.failoverWaitMs,
    concurrency,
    maxLength: config.queueMaxLength,
    visibilityTimeoutMs: config.visibilityTimeoutMs,
    maxAttempts: config.maxAttempts,
    deadLetterMax: config.deadLetterMax,
    retryBaseMs: config.retryBaseMs,
    circuitFailures: config.circuitFailures,
    onCircuit: (state, { failuresInARow, pauseMs }) => {
      metrics.circuit(state);
      if (state === "open") app.log.error({ failures_in_a_row: failuresInARow, pause_ms: pauseMs }, "circuit open: the handler failed for every one of the last runs; handling pauses (the events wait in the stream, their attempts unspent), then one probe run decides");
      else app.log.info("circuit closed: a run succeeded; handling resumes");
    },
    onHealth: ({ answering, replicas }) => {
      metrics.redisHealth(answering, replicas);
      const fields = { redis: describeTopology(redis.topology), ...(replicas !== undefined ? { replicas_online: replicas, wait_replicas: redis.waitReplicas } : {}) };
      if (!answering) app.log.error(fields, "redis does not answer a PING within 1 s: not ready, deliveries are answered 503 (unavailable)");
      else if (replicas !== undefined && replicas < redis.waitReplicas) app.log.error(fields, "fewer replicas online than REDIS_WAIT_REPLICAS: not ready, deliveries are answered 503 (not_replicated)");
      else app.log.info(fields, "redis answers the probe: ready");
    },
    onLegacyBacklog: (stream, events, finishing) =>
      finishing
        ? app.log.info({ events, stream }, "finishing the events an earlier release (up to 0.3) left in its stream; its dead letters move to this release's")
        : app.log.warn({ events, stream }, "events are waiting under 0.2's default key prefix: run one replica with REDIS_KEY_PREFIX=gemini-webhook: to finish them"),
  });
}

/** `/metrics` on a listener of its own (METRICS_PORT): the webhook port, facing the internet, does not expose it. */
async function listenForMetrics(metrics: ReceiverMetrics, at: { port: number; host: string }): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    if (request.method !== "GET" || request.url?.split("?")[0] !== "/metrics") return void response.writeHead(404).end();
    metrics.registry.metrics().then(
      (text) => response.writeHead(200, { "content-type": metrics.registry.contentType }).end(text),
      () => response.writeHead(500).end(),
    );
  });
  server.listen(at.port, at.host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return { server, url: `http://${at.host.includes(":") ? `[${at.host}]` : at.host}:${port}/metrics` };
}

function logUnfinished(app: FastifyInstance, handoff: Handoff, unfinished: number): void {
  if (unfinished === 0) return;
  app.log.warn(
    { unfinished, handoff: handoff.kind },
    handoff.kind === "durable"
      ? "shutdown deadline passed with handlers still running: their events stay pending and another replica takes them over"
      : "shutdown deadline passed: in-memory mode loses the events not handled yet",
  );
}

export function buildReceiver(config: ReceiverConfig, options: ReceiverOptions = {}): Receiver {
  const app = createApp(config, options);
  const metrics = new ReceiverMetrics();
  const keys = new SigningKeys(config, app.log, (outcome) => metrics.secretsReloads.labels({ outcome }).inc());
  // HANDLER_URL: the handler forwards to the backend, signing with secrets of its own (reloadable too).
  const forwardKeys = config.forward ? new SigningKeys(config.forward, app.log, (outcome) => metrics.forwardSecretsReloads.labels({ outcome }).inc(), "FORWARD_SIGNING_SECRETS_FILE") : undefined;
  const forwarder: Forwarder | undefined =
    config.forward && !options.handler ? createForwarder(config.forward.url, () => forwardKeys!.current, (outcome, seconds) => metrics.forwards.labels({ outcome }).observe(seconds)) : undefined;
  const refusals = new RefusalLog(app.log, options.refusalLogWindowMs);
  const deadlines = new Deadlines(config.handlerTimeoutMs);
  const handler: EventHandler =
    options.handler ??
    forwarder?.handler ??
    (async (event) => {
      app.log.info({ webhook_id: event.webhookId, type: event.type, data_id: event.data.id ?? null, kind: event.kind }, "gemini webhook processed");
    });
  const handoff = createHandoff(config, options, app, metrics, handlerRunner(handler, metrics, deadlines), outcomeLogger(app, metrics));
  metrics.track(() => handoff.counts(), handoff.kind === "durable", () => handoff.reportsStream());

  let draining = false;
  const deps = { config, keys, handoff, metrics, refusals, draining: () => draining };
  registerWebhookRoutes(app, deps);
  registerProbes(app, deps);
  if (!config.metrics) {
    app.get("/metrics", async (_request, reply) => {
      reply.header("content-type", metrics.registry.contentType);
      return metrics.registry.metrics();
    });
  }
  keys.watch();
  forwardKeys?.watch();

  let metricsServer: Server | undefined;
  let started = false;
  let shutdown: Promise<{ unfinished: number }> | undefined;
  const receiver: Receiver = {
    app,
    metrics,
    handoff,
    reloadSecrets: () => [keys.reload(), forwardKeys?.reload() ?? true].every(Boolean),
    start: async () => {
      if (started) return;
      started = true;
      await handoff.start();
    },
    listen: async () => {
      await receiver.start();
      const url = await app.listen({ port: config.port, host: config.host });
      if (!config.metrics) return { url };
      const listening = await listenForMetrics(metrics, config.metrics);
      metricsServer = listening.server;
      return { url, metricsUrl: listening.url };
    },
    idle: async () => {
      while ((await handoff.depth()) > 0) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    shutdown: (timeoutMs = config.shutdownTimeoutMs) =>
      (shutdown ??= (async () => {
        draining = true; // deliveries now get 503 (the sender retries elsewhere), readiness fails
        const unfinished = await handoff.close(timeoutMs);
        deadlines.abortAll(); // handlers still running are told to stop; their outcomes no longer count
        keys.close();
        forwardKeys?.close();
        await forwarder?.close();
        refusals.close();
        metricsServer?.close();
        await app.close();
        logUnfinished(app, handoff, unfinished);
        return { unfinished };
      })()),
    close: async () => {
      await receiver.shutdown();
    },
  };
  return receiver;
}
