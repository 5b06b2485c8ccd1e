/**
 * The verifying receiver as a Fastify app. A delivery is answered right after verify + dedup +
 * enqueue; the handler runs afterwards. 400 malformed, 401 failed verification (reason code in
 * the body), 413 too large, 200 for a duplicate (the sender must stop retrying), 503 when full or
 * shutting down. Logs never hold secrets, signature headers, tokens or bodies.
 */
import Fastify, { FastifyInstance, FastifyReply, FastifyRequest, LogController } from "fastify";
import Redis from "ioredis";
import type { ReceiverConfig } from "./config";
import { DedupStore, MemoryDedup, RedisDedup } from "./dedup";
import { WebhookVerificationError } from "./errors";
import { ReceiverMetrics } from "./metrics";
import { verifyDynamicDelivery } from "./verify-dynamic";
import { decodeSecrets, verifyStaticDelivery } from "./verify-static";
import { WorkQueue } from "./work-queue";

export interface ReceivedEvent {
  kind: "static" | "dynamic";
  /** The `webhook-id` header: the delivery's idempotency key. */
  webhookId: string;
  type: string;
  data: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  /** The whole parsed envelope. */
  envelope: Record<string, unknown>;
}

export type EventHandler = (event: ReceivedEvent) => Promise<void>;

export interface ReceiverOptions {
  handler?: EventHandler;
  dedup?: DedupStore;
  /** Handler concurrency (default 8) and queue capacity (default 10 000). */
  concurrency?: number;
  queueCapacity?: number;
  /** Pino destination for tests; default stdout. */
  logStream?: NodeJS.WritableStream;
  /** Time a client has to send a whole request, ms (default 15 000): slowly sent bodies are cut off. */
  requestTimeoutMs?: number;
}

export interface Receiver {
  app: FastifyInstance;
  metrics: ReceiverMetrics;
  queue: WorkQueue<ReceivedEvent>;
  /** Stops accepting (503), drains the queue, closes the dedup store. */
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
    requestTimeout: options.requestTimeoutMs ?? 15_000, // a body sent byte by byte cannot hold a connection forever
    connectionTimeout: 20_000,
    // Node enforces requestTimeout when it checks its connections, every 30 s by default: a slow
    // sender then held a connection for up to 45 s (90 s seen). Checked every second instead.
    http: { connectionsCheckingInterval: 1_000, headersTimeout: Math.min(options.requestTimeoutMs ?? 15_000, 10_000) },
  });
  const metrics = new ReceiverMetrics();
  const dedup = options.dedup ?? (config.redisUrl ? new RedisDedup(connectRedis(config.redisUrl, app)) : new MemoryDedup());
  const keys = config.signingSecrets.length ? decodeSecrets(config.signingSecrets) : [];

  const handler: EventHandler =
    options.handler ??
    (async (event) => {
      app.log.info({ webhook_id: event.webhookId, type: event.type, data_id: event.data.id ?? null, kind: event.kind }, "gemini webhook processed");
    });
  const queue = new WorkQueue<ReceivedEvent>(
    async (event) => {
      const startedAt = performance.now();
      try {
        await handler(event);
        metrics.observeProcessing("ok", startedAt);
      } catch (err) {
        metrics.observeProcessing("error", startedAt);
        throw err;
      }
    },
    options.concurrency ?? 8,
    options.queueCapacity ?? 10_000,
    (err, event) => app.log.error({ webhook_id: event.webhookId, type: event.type, err: { message: (err as Error)?.message } }, "handler failed"),
  );

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
    const contentType = String(request.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
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
    // The dedup store must answer before anything is acknowledged: without it, 503 and the sender retries.
    let claimed: string[];
    try {
      if (!dedup.ready()) throw new Error("dedup store not ready");
      claimed = await claimAll(dedup, dedupKeys);
    } catch (err) {
      metrics.count("unavailable", kind);
      request.log.error({ err: { message: (err as Error).message }, kind }, "dedup store unavailable; delivery refused with 503");
      return reply.code(503).header("retry-after", "5").send({ error: "unavailable" });
    }
    if (claimed.length < dedupKeys.length) {
      metrics.count("duplicate", kind);
      return reply.code(200).type("application/json").send(DUPLICATE);
    }
    const event: ReceivedEvent = {
      kind,
      webhookId,
      type: String(envelope.type),
      data: (envelope.data ?? {}) as Record<string, unknown>,
      ...(envelope.user_metadata ? { userMetadata: envelope.user_metadata as Record<string, unknown> } : {}),
      envelope,
    };
    if (!queue.push(event)) {
      await Promise.all(claimed.map((k) => dedup.release(k))).catch(() => undefined); // the sender's retry must be processed
      return reply.code(503).header("retry-after", "30").send({ error: "busy" });
    }
    metrics.count("verified", kind);
    return reply.code(200).type("application/json").send(ACCEPTED);
  }

  if (keys.length > 0) {
    app.post("/webhooks/gemini", (request, reply) =>
      accept("static", request, reply, async (body) =>
        verifyStaticDelivery(body, webhookHeaders(request), keys, { toleranceSeconds: config.toleranceSeconds }),
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
  app.get("/healthz", async (_request, reply) => {
    if (!dedup.ready()) return reply.code(503).send({ status: "unavailable", dedup: "not ready", queued: queue.size });
    return { status: "ok", queued: queue.size };
  });
  // Liveness: the process serves requests.
  app.get("/livez", async () => ({ status: "ok" }));
  app.get("/metrics", async (_request, reply) => {
    reply.header("content-type", metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    metrics,
    queue,
    close: async () => {
      await app.close();
      await queue.drain();
      await dedup.close();
    },
  };
}

/** A Redis client whose outages are logged once each (not per reconnect) and never crash the process. */
function connectRedis(url: string, app: FastifyInstance): Redis {
  const redis = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, commandTimeout: 2_000, enableOfflineQueue: false });
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

/**
 * Claims each key in order and stops at the first already seen: a delivery is new only when every
 * key is. Returns the keys this call claimed (to release them if the event cannot be queued).
 */
async function claimAll(dedup: DedupStore, keys: string[]): Promise<string[]> {
  const claimed: string[] = [];
  for (const key of keys) {
    if (!(await dedup.claim(key))) break;
    claimed.push(key);
  }
  return claimed;
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
