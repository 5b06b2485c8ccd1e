/**
 * The receiver's HTTP surface: the two webhook routes (verify → dedup + hand-off → answer) and the
 * probes. 400 malformed, 401 failed verification (reason code in the body), 413 too large, 200 for
 * a duplicate (the sender must stop retrying), 503 when full, unavailable or shutting down.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ReceiverConfig } from "../ops/config";
import { WebhookVerificationError } from "../verify/errors";
import { eventOf } from "../handle/event";
import { parseEnvelope } from "../verify/rules";
import type { Handoff } from "../queue/handoff";
import type { ReceiverMetrics } from "../ops/metrics";
import type { RefusalLog } from "./refusal-log";
import type { SigningKeys } from "./signing-keys";
import { NotReplicatedError } from "../queue/stream-queue";
import { endSpan, Span, startReceiveSpan, startStep, traceparentOf } from "../ops/tracing";
import { verifyDynamicDelivery } from "../verify/dynamic";
import { verifyStaticDelivery } from "../verify/static-node";

const ACCEPTED = '{"status":"accepted"}';
const DUPLICATE = '{"status":"duplicate"}';

export interface RouteDeps {
  config: ReceiverConfig;
  keys: SigningKeys;
  handoff: Handoff;
  metrics: ReceiverMetrics;
  refusals: RefusalLog;
  /** True from SIGTERM on: deliveries get 503, readiness fails. */
  draining: () => boolean;
}

type Kind = "static" | "dynamic";
type Verify = (body: Buffer) => Promise<{ webhookId: string; dedupKeys?: string[] }>;

export function registerWebhookRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { config, keys } = deps;
  // Raw bytes: signatures cover the exact body. Anything but JSON is malformed.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer" }, (_req, body, done) => done(null, body));
  app.setErrorHandler((error: Error & { statusCode?: number; code?: string }, request, reply) => {
    const kind: Kind = request.url.includes("/dynamic") ? "dynamic" : "static";
    if (error.statusCode === 413 || error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      return refuse(deps, kind, request, reply, { reason: "too_large", status: 413, body: { error: "too_large" } });
    }
    if (error.statusCode && error.statusCode < 500) {
      return refuse(deps, kind, request, reply, { reason: "malformed", status: 400, body: { error: "malformed" } });
    }
    request.log.error({ err: { message: error.message, code: error.code } }, "receiver error");
    return reply.code(500).send({ error: "internal" });
  });

  if (keys.current.length > 0) {
    app.post("/webhooks/gemini", (request, reply) =>
      accept(deps, "static", request, reply, async (body) =>
        verifyStaticDelivery(body, webhookHeaders(request), keys.current, { toleranceSeconds: config.toleranceSeconds }),
      ),
    );
  }
  const jwt = config.jwt;
  if (jwt) {
    const options = { ...jwt, maxAgeMs: jwt.jwksMaxAgeMs, toleranceSeconds: config.toleranceSeconds };
    app.post("/webhooks/gemini/dynamic", (request, reply) => accept(deps, "dynamic", request, reply, (body) => verifyDynamicDelivery(body, webhookHeaders(request), options)));
  }
}

/**
 * Liveness (`/livez`): the process answers, so its event loop turns — for the image's HEALTHCHECK
 * and Kubernetes' liveness probe; never fails for a dependency. Readiness (`/readyz`, alias
 * `/healthz`): the hand-off's store answers (a PING within a second; with REDIS_WAIT_REPLICAS, enough
 * replicas online: else `handoff` says `unavailable` or `not_replicated`), secrets are loaded and the process is not draining —
 * for load balancers and Kubernetes' readiness probe.
 */
export function registerProbes(app: FastifyInstance, deps: Pick<RouteDeps, "handoff" | "keys" | "config" | "draining">): void {
  const readiness = async (_request: FastifyRequest, reply: FastifyReply) => {
    const checks = {
      handoff: deps.handoff.readiness(),
      secrets: deps.keys.current.length > 0 || deps.config.jwt ? "ok" : "missing",
      draining: deps.draining(),
    };
    const ok = checks.handoff === "ok" && checks.secrets === "ok" && !checks.draining;
    return reply.code(ok ? 200 : 503).send({ status: ok ? "ok" : "unavailable", kind: deps.handoff.kind, ...checks });
  };
  app.get("/readyz", readiness);
  app.get("/healthz", readiness);
  app.get("/livez", async () => ({ status: "ok" }));
}

interface Refused {
  reason: Exclude<Parameters<ReceiverMetrics["count"]>[0], "verified" | "duplicate">;
  status: number;
  body: object;
  detail?: string;
  retryAfter?: string;
  span?: Span;
}

/** A refused delivery: counted, logged (rate-limited), its span ended as an error, answered. */
function refuse(deps: RouteDeps, kind: Kind, request: FastifyRequest, reply: FastifyReply, r: Refused) {
  deps.metrics.count(r.reason, kind);
  deps.refusals.refused({ reason: r.reason, kind, status: r.status, remote: request.ip, webhookId: headerId(request), detail: r.detail });
  if (r.span) endSpan(r.span, r.reason, true);
  if (r.retryAfter) reply.header("retry-after", r.retryAfter);
  return reply.code(r.status).send(r.body);
}

async function accept(deps: RouteDeps, kind: Kind, request: FastifyRequest, reply: FastifyReply, verify: Verify) {
  const { metrics, handoff } = deps;
  const span = startReceiveSpan(kind);
  if (deps.draining()) return refuse(deps, kind, request, reply, { reason: "shutting_down", status: 503, body: { error: "shutting_down" }, retryAfter: "5", span });

  const verifySpan = startStep(span, "verify");
  let verified: Awaited<ReturnType<typeof readDelivery>>;
  try {
    verified = await readDelivery(request, verify);
    endSpan(verifySpan, "verified");
  } catch (err) {
    if (!(err instanceof WebhookVerificationError)) throw err;
    endSpan(verifySpan, err.reason, true);
    const body = { error: err.reason, detail: err.detail };
    if (err.reason === "jwks_unavailable") return refuse(deps, kind, request, reply, { reason: err.reason, status: 503, body, detail: err.detail, retryAfter: "10", span });
    return refuse(deps, kind, request, reply, { reason: err.reason, status: err.reason === "malformed" ? 400 : 401, body, detail: err.detail, span });
  }
  const { webhookId, dedupKeys, envelope, text } = verified;
  if (span.isRecording()) span.setAttributes({ "gemini_webhook.id": webhookId, "gemini_webhook.type": String(envelope.type) });
  const event = eventOf(kind, webhookId, envelope);
  // Nothing is acknowledged before the hand-off has it: without its store, 503 and the sender retries.
  const acceptSpan = startStep(span, "accept");
  let result: Awaited<ReturnType<Handoff["accept"]>>;
  try {
    result = await handoff.accept(dedupKeys, event, traceparentOf(span), text);
    endSpan(acceptSpan, result);
  } catch (err) {
    // Redis down, or (REDIS_WAIT_REPLICAS) fewer replicas than asked for hold the event: the sender's retry is safe.
    const reason = err instanceof NotReplicatedError ? "not_replicated" : "unavailable";
    endSpan(acceptSpan, reason, true);
    return refuse(deps, kind, request, reply, { reason, status: 503, body: { error: reason }, detail: (err as Error).message.slice(0, 100), retryAfter: "5", span });
  }
  if (result === "full") {
    endSpan(acceptSpan, "full", true);
    return refuse(deps, kind, request, reply, { reason: "unavailable", status: 503, body: { error: "busy" }, detail: "queue full", retryAfter: "30", span });
  }
  metrics.count(result === "duplicate" ? "duplicate" : "verified", kind);
  endSpan(span, result === "duplicate" ? "duplicate" : "accepted");
  return reply.code(200).type("application/json").send(result === "duplicate" ? DUPLICATE : ACCEPTED);
}

async function readDelivery(request: FastifyRequest, verify: Verify) {
  const body = request.body;
  const header = request.headers["content-type"];
  const contentType = header === "application/json" ? header : String(header ?? "").split(";")[0].trim().toLowerCase();
  if (!Buffer.isBuffer(body) || body.length === 0) throw new WebhookVerificationError("malformed", "empty body");
  if (contentType !== "application/json") throw new WebhookVerificationError("malformed", "content-type is not application/json");
  const { webhookId, dedupKeys } = await verify(body);
  const text = body.toString("utf8");
  return { webhookId, dedupKeys: dedupKeys ?? [webhookId], envelope: parseEnvelope(text), text };
}

/** The `webhook-id` a refused request claimed, for the log: only when it is a plausible id. */
function headerId(request: FastifyRequest): string | undefined {
  const id = request.headers["webhook-id"];
  return typeof id === "string" && /^[\x21-\x7e]{1,256}$/.test(id) ? id : undefined;
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

