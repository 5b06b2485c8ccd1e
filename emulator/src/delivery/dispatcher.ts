/**
 * Sends due deliveries: signs each attempt, POSTs it, records the outcome and schedules the retry.
 * Concurrency is bounded per endpoint (origin) and overall, so one slow or dead endpoint holds at
 * most its own slots and never delays deliveries to the others.
 */
import { createHash } from "node:crypto";
import { Agent } from "undici";
import { parseRetryAfterMs } from "gemini-webhooks-client";
import type { Clock } from "../clock";
import type { EmulatorStore } from "../store";
import { secretKey, signatureHeader } from "./hmac-signature";
import type { JwtKeys } from "./jwt-keys";
import type { DeliveryQueue, DeliveryRow } from "./queue";
import { nextAttemptAt } from "./retry-schedule";
import { guardedLookup, isAllowedTarget, Resolver } from "./targets";

export interface DispatcherOptions {
  /** Real milliseconds a receiver has to answer 2xx (default 10 000). */
  timeoutMs: number;
  perEndpointConcurrency: number;
  overallConcurrency: number;
  /** Hosts deliveries may go to besides loopback. */
  allowedHosts: string[];
  /** Name resolution for delivery targets (default: the system's, `dns.lookup`). */
  resolver?: Resolver;
}

interface Outcome {
  status: number | null;
  error: string | null;
  retryAfterMs?: number;
}

const MAX_IDLE_WAIT_MS = 250;

export class Dispatcher {
  readonly #inFlight = new Map<number, string>();
  readonly #perEndpoint = new Map<string, number>();
  readonly #agent: Agent;
  #timer?: NodeJS.Timeout;
  #running = false;
  #ticking = false;
  #settled: Promise<void>[] = [];
  /** Emulator origin, the `iss` of dynamic-delivery tokens. */
  issuer: () => string = () => "http://127.0.0.1:8089";

  constructor(
    private readonly queue: DeliveryQueue,
    private readonly store: EmulatorStore,
    private readonly clock: Clock,
    private readonly keys: JwtKeys,
    private readonly options: DispatcherOptions,
  ) {
    this.#agent = new Agent({
      connections: options.perEndpointConcurrency,
      keepAliveTimeout: 4_000,
      pipelining: 1,
      // The loopback rule is enforced on the address connected to, not only on the name.
      connect: { lookup: guardedLookup(options.allowedHosts, options.resolver) },
    });
  }

  start(): void {
    this.#running = true;
    this.wake();
  }

  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    await Promise.allSettled(this.#settled);
    await this.#agent.close().catch(() => undefined);
  }

  /** Looks for due work now (called after enqueueing). */
  wake(): void {
    if (!this.#running) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), 0);
  }

  #tick(): void {
    if (!this.#running || this.#ticking) return;
    this.#ticking = true;
    try {
      const free = this.options.overallConcurrency - this.#inFlight.size;
      if (free > 0) {
        const saturated = [...this.#perEndpoint].filter(([, n]) => n >= this.options.perEndpointConcurrency).map(([e]) => e);
        const rows = this.queue.due(this.clock.now(), free, [...this.#inFlight.keys()], saturated);
        for (const row of rows) {
          if (this.#inFlight.size >= this.options.overallConcurrency) break;
          if ((this.#perEndpoint.get(row.endpoint) ?? 0) >= this.options.perEndpointConcurrency) continue;
          this.#launch(row);
        }
      }
    } finally {
      this.#ticking = false;
    }
    this.#scheduleNext();
  }

  #scheduleNext(): void {
    if (!this.#running) return;
    const next = this.queue.nextDueAt();
    const wait = next === null ? MAX_IDLE_WAIT_MS : Math.min(MAX_IDLE_WAIT_MS, this.clock.realDelayUntil(next));
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#tick(), Math.max(wait, this.#inFlight.size >= this.options.overallConcurrency ? 5 : 0));
  }

  #launch(row: DeliveryRow): void {
    this.#inFlight.set(row.seq, row.endpoint);
    this.#perEndpoint.set(row.endpoint, (this.#perEndpoint.get(row.endpoint) ?? 0) + 1);
    const done = this.#attempt(row)
      .catch((err: unknown) => console.error(`delivery ${row.msg_id}: internal error`, (err as Error)?.message))
      .finally(() => {
        this.#inFlight.delete(row.seq);
        const n = (this.#perEndpoint.get(row.endpoint) ?? 1) - 1;
        if (n <= 0) this.#perEndpoint.delete(row.endpoint);
        else this.#perEndpoint.set(row.endpoint, n);
        this.#settled = this.#settled.filter((p) => p !== done);
        this.wake();
      });
    this.#settled.push(done);
  }

  async #attempt(row: DeliveryRow): Promise<void> {
    let secrets: Buffer[] = [];
    let target = row.target;
    if (row.kind === "static") {
      const webhook = row.webhook_id ? this.store.getWebhook(row.webhook_id) : undefined;
      if (!webhook) return this.queue.setStatus(row.seq, "abandoned");
      if (webhook.state !== "enabled") return this.queue.setStatus(row.seq, "held");
      secrets = this.store.validSecrets(webhook.id, this.clock.now()).map((s) => secretKey(s.secret));
      target = webhook.uri; // a PATCHed uri applies to deliveries still pending
    }
    const attempt = row.attempts + 1;
    const startedAt = this.clock.now();
    const realStart = performance.now();
    const outcome = isAllowedTarget(target, this.options.allowedHosts)
      ? await this.#send(row, target, secrets)
      : { status: null, error: "target not allowed: the emulator delivers to loopback and --allow-delivery-host hosts only" };
    const latencyMs = Math.round(performance.now() - realStart);
    const record = { attempt, scheduledAt: row.next_attempt_at, at: startedAt, status: outcome.status, latencyMs, error: outcome.error };
    const ok = outcome.status !== null && outcome.status >= 200 && outcome.status < 300;
    if (ok) return this.queue.recordAttempt(row, record, { status: "succeeded", nextAttemptAt: startedAt });
    if (outcome.status === 410 || outcome.error?.startsWith("target not allowed")) {
      // 410 Gone: the receiver asks never to be called again.
      if (outcome.status === 410 && row.webhook_id) this.#disableWebhook(row.webhook_id, "disabled");
      return this.queue.recordAttempt(row, record, { status: "failed", nextAttemptAt: startedAt });
    }
    const next = nextAttemptAt(row.first_attempt_at ?? startedAt, startedAt, attempt, outcome.retryAfterMs);
    if (next === null) {
      this.queue.recordAttempt(row, record, { status: "failed", nextAttemptAt: startedAt });
      if (row.webhook_id) this.#disableWebhook(row.webhook_id, "disabled_due_to_failed_deliveries");
      return;
    }
    this.queue.recordAttempt(row, record, { status: "pending", nextAttemptAt: next });
  }

  #disableWebhook(webhookId: string, state: "disabled" | "disabled_due_to_failed_deliveries"): void {
    const webhook = this.store.getWebhook(webhookId);
    if (!webhook || webhook.state !== "enabled") return;
    this.store.updateWebhook(webhookId, { state }, this.clock.now());
    this.queue.holdForWebhook(webhookId);
  }

  async #send(row: DeliveryRow, target: string, secrets: Buffer[]): Promise<Outcome> {
    const body = this.queue.body(row.event_id);
    // Wire timestamps are real time (receivers compare them with their own clock), even under a time scale.
    const timestamp = Math.floor(Date.now() / 1000);
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": "Gemini-Webhooks-Emulator/1",
      "webhook-id": row.msg_id,
      "webhook-timestamp": String(timestamp),
    };
    if (row.kind === "static") {
      headers["webhook-signature"] = signatureHeader(secrets, row.msg_id, timestamp, body);
    } else {
      headers["webhook-signature"] = await this.keys.sign(
        {
          iss: this.issuer(),
          aud: target,
          webhook_id: row.msg_id,
          body_sha256: createHash("sha256").update(body).digest("base64url"),
        },
        timestamp,
      );
    }
    try {
      const url = new URL(target);
      const response = await this.#agent.request({
        origin: url.origin,
        path: url.pathname + url.search,
        method: "POST",
        headers,
        body,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
      });
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const status = response.statusCode;
      const retryAfterMs =
        status === 429 || status === 503 ? parseRetryAfterMs(response.headers["retry-after"]) : undefined;
      return { status, error: status >= 200 && status < 300 ? null : `HTTP ${status}`, retryAfterMs };
    } catch (err) {
      const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
      const refused = [e, e.cause].find((x) => x?.code === "ERR_EMULATOR_TARGET_NOT_ALLOWED");
      if (refused) return { status: null, error: refused.message ?? "target not allowed" }; // fails for good, like the URL check
      return { status: null, error: `${e.code ?? "ERROR"}: ${e.message ?? "request failed"}` };
    }
  }
}
