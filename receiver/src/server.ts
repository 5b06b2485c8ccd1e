/**
 * The verifying receiver as a Fastify app. A delivery is answered right after verify + dedup +
 * hand-off (handoff.ts); the handler runs afterwards. 400 malformed, 401 failed verification (reason code in
 * the body), 413 too large, 200 for a duplicate (the sender must stop retrying), 503 when full or
 * shutting down. Logs never hold secrets, signature headers, tokens or bodies.
 */
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, LogController } from "fastify";
import Redis from "ioredis";
import type { ReceiverConfig } from "./config";
import { DedupStore, MemoryDedup } from "./dedup";
import { WebhookVerificationError } from "./errors";
import type { EventHandler, HandlerMeta, ReceivedEvent } from "./event";
import { DurableHandoff, Handoff, MemoryHandoff } from "./handoff";
import { ReceiverMetrics } from "./metrics";
import { SigningKeys } from "./signing-keys";
import { verifyDynamicDelivery } from "./verify-dynamic";
import { verifyStaticDelivery } from "./verify-static";

export type { EventHandler, HandlerMeta, ReceivedEvent } from "./event";

export interface ReceiverOptions {
  /** Your code (default: logs each event's type and id). `HANDLER_MODULE` sets it for the server. */
  handler?: EventHandler;
  /** In-memory mode only: where webhook ids are remembered (default: this process's memory). */
  dedup?: DedupStore;
  /** Handlers running at once (default 8). */
  concurrency?: number;
  /** In-memory mode: queue capacity (default 10 000). */
  queueCapacity?: number;
  /** Pino destination for tests; default stdout. */
  logStream?: NodeJS.WritableStream;
  /** Time a client has to send a whole request, ms (default 15 000): slowly sent bodies are cut off. */
  requestTimeoutMs?: number;
}

export interface Receiver {
  app: FastifyInstance;
  metrics: ReceiverMetrics;
  /** `durable` (Redis Streams, REDIS_URL) or `memory` (development). */
  handoff: Handoff;
  /** The hand-off's drain, kept under its old name: resolves once every accepted event is handled. */
  queue: { drain(): Promise<void> };
  /** Re-reads WEBHOOK_SIGNING_SECRETS_FILE (also on change and on SIGHUP); a malformed file keeps the old secrets. */
  reloadSecrets(): boolean;
  /** Starts the durable workers (the server does this; `listen` alone accepts but does not handle). */
  start(): Promise<void>;
  /** Stops accepting (503), drains what this process holds, closes the stores. */
  close(): Promise<void>;
}

const ACCEPTED = '{"status":"accepted"}';
const DUPLICATE = '{"status":"duplicate"}';

const REDACT = [
  "req.headers.webhook-signature",
  "req.headers.authorization",
  "req.headers.x-goog-api-key",
  "req.headers.cookie",
];

export function buildReceiver(config: ReceiverConfig, options: ReceiverOptions = {}): Receiver {
  const app = Fastify({
    logger: {
      level: config.logLevel,
      redact: { paths: REDACT, censor: "[redacted]" },
      ...(options.logStream ? { stream: options.logStream } : {}),
    },
    bodyLimit: config.maxBodyBytes,
    return503OnClosing: true,
    // One line per processed event and per refusal is the log; a line per request is noise (and cost).
    logController: new LogController({ disableRequestLogging: true }),
    // No child logger per request: refusals log their own fields, and the allocation costs on every delivery.
    childLoggerFactory: (logger) => logger,
    requestTimeout: options.requestTimeoutMs ?? 15_000, // a body sent byte by byte cannot hold a connection forever
    connectionTimeout: 20_000,
    // Node enforces requestTimeout when it checks its connections, every 30 s by default: a slow
    // sender then held a connection for up to 45 s (90 s seen). Checked every second instead.
    http: { connectionsCheckingInterval: 1_000, headersTimeout: Math.min(options.requestTimeoutMs ?? 15_000, 10_000) },
  });
  const metrics = new ReceiverMetrics();
  const keys = new SigningKeys(config, app.log);

  const handler: EventHandler =
    options.handler ??
    (async (event) => {
      app.log.info({ webhook_id: event.webhookId, type: event.type, data_id: event.data.id ?? null, kind: event.kind }, "gemini webhook processed");
    });
  const process = async (event: ReceivedEvent, meta: HandlerMeta) => {
    const startedAt = performance.now();
    try {
      await handler(event, meta);
      metrics.observeProcessing("ok", startedAt);
    } catch (err) {
      metrics.observeProcessing("error", startedAt);
      throw err;
    }
  };
  const onOutcome = (outcome: "ok" | "failed" | "dead_letter", event: ReceivedEvent | undefined, err?: unknown) => {
    metrics.processed(outcome);
    if (outcome === "ok") return;
    const fields = { webhook_id: event?.webhookId, type: event?.type, err: { message: (err as Error)?.message } };
    if (outcome === "dead_letter") app.log.error(fields, "handler failed for the last time: moved to the dead-letter stream");
    else app.log.warn(fields, "handler failed; the event will be retried");
  };
  const concurrency = options.concurrency ?? config.handlerConcurrency;
  const handoff: Handoff = config.redisUrl
    ? new DurableHandoff(connectRedis(config.redisUrl, app), process, onOutcome, {
        concurrency,
        maxLength: config.queueMaxLength,
        visibilityTimeoutMs: config.visibilityTimeoutMs,
        maxAttempts: config.maxAttempts,
      })
    : new MemoryHandoff(options.dedup ?? new MemoryDedup(), process, onOutcome, concurrency, options.queueCapacity ?? config.queueMaxLength);
  metrics.trackDepth(() => handoff.depth());

  // Raw bytes: signatures cover the exact body. Anything but JSON is malformed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));

  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const kind = request.url.includes("/dynamic") ? "dynamic" : "static";
    if (error.statusCode === 413 || error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      metrics.count("too_large", kind);
      return reply.code(413).send({ error: "too_large" });
    }
    if (error.statusCode && error.statusCode < 500) {
      metrics.count("malformed", kind);
      return reply.code(400).send({ error: "malformed" });
    }
    request.log.error({ err: { message: error.message, code: error.code } }, "receiver error");
    return reply.code(500).send({ error: "internal" });
  });

  async function accept(
    kind: "static" | "dynamic",
    request: FastifyRequest,
    reply: FastifyReply,
    verify: (body: Buffer) => Promise<{ webhookId: string; dedupKeys?: string[] }>,
  ) {
    const body = request.body;
    const header = request.headers["content-type"];
    const contentType = header === "application/json" ? header : String(header ?? "").split(";")[0].trim().toLowerCase();
    let webhookId: string;
    let dedupKeys: string[];
    let envelope: Record<string, unknown>;
    try {
      if (!Buffer.isBuffer(body) || body.length === 0) throw new WebhookVerificationError("malformed", "empty body");
      if (contentType !== "application/json") throw new WebhookVerificationError("malformed", "content-type is not application/json");
      const verified = await verify(body);
      webhookId = verified.webhookId;
      dedupKeys = verified.dedupKeys ?? [webhookId];
      envelope = parseEnvelope(body);
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      metrics.count(err.reason, kind);
      request.log.warn({ reason: err.reason, detail: err.detail, kind }, "delivery refused");
      if (err.reason === "jwks_unavailable") return reply.code(503).header("retry-after", "10").send({ error: err.reason, detail: err.detail });
      return reply.code(err.reason === "malformed" ? 400 : 401).send({ error: err.reason, detail: err.detail });
    }
    const event: ReceivedEvent = {
      kind,
      webhookId,
      type: String(envelope.type),
      data: (envelope.data ?? {}) as Record<string, unknown>,
      ...(envelope.user_metadata ? { userMetadata: envelope.user_metadata as Record<string, unknown> } : {}),
      envelope,
    };
    // Nothing is acknowledged before the hand-off has it: without its store, 503 and the sender retries.
    let result: Awaited<ReturnType<Handoff["accept"]>>;
    try {
      result = await handoff.accept(dedupKeys, event);
    } catch (err) {
      metrics.count("unavailable", kind);
      request.log.error({ err: { message: (err as Error).message }, kind }, "hand-off unavailable; delivery refused with 503");
      return reply.code(503).header("retry-after", "5").send({ error: "unavailable" });
    }
    if (result === "duplicate") {
      metrics.count("duplicate", kind);
      return reply.code(200).type("application/json").send(DUPLICATE);
    }
    if (result === "full") {
      metrics.count("unavailable", kind);
      return reply.code(503).header("retry-after", "30").send({ error: "busy" });
    }
    metrics.count("verified", kind);
    return reply.code(200).type("application/json").send(ACCEPTED);
  }

  if (keys.current.length > 0) {
    app.post("/webhooks/gemini", (request, reply) =>
      accept("static", request, reply, async (body) =>
        verifyStaticDelivery(body, webhookHeaders(request), keys.current, { toleranceSeconds: config.toleranceSeconds }),
      ),
    );
  }
  const jwt = config.jwt;
  if (jwt) {
    app.post("/webhooks/gemini/dynamic", (request, reply) =>
      accept("dynamic", request, reply, (body) =>
        verifyDynamicDelivery(body, webhookHeaders(request), { ...jwt, toleranceSeconds: config.toleranceSeconds }),
      ),
    );
  }
  // Readiness: 503 while the dedup store (Redis) cannot answer, so a load balancer sends elsewhere.
  // Readiness: 503 while the hand-off's store (Redis) cannot answer, so a load balancer sends elsewhere.
  app.get("/healthz", async (_request, reply) => {
    if (!handoff.ready()) return reply.code(503).send({ status: "unavailable", handoff: handoff.kind });
    return { status: "ok", handoff: handoff.kind };
  });
  // Liveness: the process serves requests.
  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  keys.watch();
  return {
    app,
    metrics,
    handoff,
    queue: { drain: () => handoff.drain() },
    reloadSecrets: () => keys.reload(),
    start: async () => {
      if (handoff instanceof DurableHandoff) await handoff.start();
    },
    close: async () => {
      keys.close();
      await app.close();
      await handoff.close();
    },
  };
}

/** A Redis client whose outages are logged once each (not per reconnect) and never crash the process. */
function connectRedis(url: string, app: FastifyInstance): Redis {
  // Auto-pipelining sends the accept scripts and acknowledgements of one tick in one round trip: the
  // workers then keep up with a flood instead of letting the stream grow to its bound.
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, enableOfflineQueue: false, enableAutoPipelining: true });
  let down = false;
  redis.on("error", (err: Error) => {
    if (!down) app.log.error({ err: { message: err.message } }, "redis unreachable: deliveries are answered 503 until it is back");
    down = true;
  });
  redis.on("ready", () => {
    if (down) app.log.info("redis reachable again");
    down = false;
  });
  return redis;
}

const WEBHOOK_HEADERS = new Set(["webhook-id", "webhook-timestamp", "webhook-signature"]);

/**
 * The request's headers, with a repeated webhook header made an array (Node would join the
 * repeats with ", " and hide them); the verifiers treat such an array as malformed.
 */
function webhookHeaders(request: FastifyRequest): Record<string, string | string[] | undefined> {
  const raw = request.raw.rawHeaders;
  let repeated: Record<string, string[]> | undefined;
  const seen = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i].toLowerCase();
    if (!WEBHOOK_HEADERS.has(name)) continue;
    if (seen.has(name)) (repeated ??= {})[name] = [String(request.headers[name]), raw[i + 1]];
    seen.add(name);
  }
  return repeated ? { ...request.headers, ...repeated } : (request.headers as Record<string, string | string[] | undefined>);
}

function parseEnvelope(body: Buffer): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString("utf8"));
  } catch {
    throw new WebhookVerificationError("malformed", "body is not JSON");
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed) || typeof (parsed as { type?: unknown }).type !== "string") {
    throw new WebhookVerificationError("malformed", "body is not a webhook envelope");
  }
  return parsed as Record<string, unknown>;
}
