/**
 * HANDLER_URL: each verified event POSTed to a backend in any language, signed again with Standard
 * Webhooks headers under a secret of its own (FORWARD_SIGNING_SECRETS, one `v1,` signature per
 * secret, so a rotation is two secrets for a while), so the backend verifies it with any
 * standardwebhooks library — never with Gemini's secret, which stays in the receiver.
 *
 * The body is the verified body exactly as Gemini sent it; `webhook-id` is the delivery's (the
 * backend's idempotency key), `webhook-timestamp` this attempt's. 2xx is done; any other answer, a
 * connection error or HANDLER_TIMEOUT_MS is a failed attempt (retried with backoff, then a dead
 * letter); `Retry-After` on a 429 or 503 moves the next attempt later (within the visibility timeout).
 * Redirects are not followed: a 3xx is a failed attempt. One pooled keep-alive client per process.
 */
import { createHmac, KeyObject } from "node:crypto";
import { trace } from "@opentelemetry/api";
import { Agent, request } from "undici";
import type { EventHandler } from "./event";
import { traceparentOf } from "../ops/tracing";

const USER_AGENT = `gemini-webhooks-receiver/${(require("../../package.json") as { version: string }).version}`;
/** The most of a backend's answer read (and then dropped): a backend cannot make the receiver buffer. */
const MAX_ANSWER_BYTES = 64 * 1024;

/** A failed forward: why, the backend's status when it answered, and how long it asked to wait. */
export class ForwardError extends Error {
  override readonly name = "ForwardError";
  readonly reason: string;

  constructor(
    message: string,
    readonly status?: number,
    /** From `Retry-After` on a 429 or 503: the next attempt not before this many ms. */
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.reason = status === undefined ? "forward_error" : `forward_${status}`;
  }
}

/** `Retry-After` as ms: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function retryAfterMs(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (!text) return undefined;
  if (/^\d{1,9}$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** The Standard Webhooks `webhook-signature` value: one `v1,` HMAC per secret, newest first. */
export function forwardSignature(keys: KeyObject[], id: string, timestamp: number, body: string): string {
  return keys.map((key) => "v1," + createHmac("sha256", key).update(`${id}.${timestamp}.${body}`).digest("base64")).join(" ");
}

export interface Forwarder {
  handler: EventHandler;
  close(): Promise<void>;
}

/** Observes each forward: its outcome (`ok`, `error` or the status class) and how long it took. */
export type ForwardObserver = (outcome: string, seconds: number) => void;

export function createForwarder(url: string, keys: () => KeyObject[], observe: ForwardObserver = () => undefined): Forwarder {
  const target = new URL(url);
  // Keep-alive, pipelining off; a connect that hangs is cut by the handler's deadline (the signal).
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: 128 });
  const handler: EventHandler = async (event, meta) => {
    const body = event.body ?? JSON.stringify(event.envelope);
    const timestamp = Math.floor(Date.now() / 1000);
    const traceparent = (() => {
      const span = trace.getActiveSpan();
      return span ? traceparentOf(span) : undefined;
    })();
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "user-agent": USER_AGENT,
      "webhook-id": event.webhookId,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": forwardSignature(keys(), event.webhookId, timestamp, body),
      "gemini-event-type": event.type,
      "gemini-webhook-kind": event.kind,
      "gemini-delivery-attempt": String(meta.attempt),
      ...(traceparent ? { traceparent } : {}),
    };
    const startedAt = performance.now();
    const seconds = () => (performance.now() - startedAt) / 1000;
    let response: Awaited<ReturnType<typeof request>>;
    try {
      // undici's request() follows no redirect (that takes an interceptor this client does not have).
      response = await request(target, { method: "POST", headers, body, dispatcher: agent, signal: meta.signal });
    } catch (err) {
      observe("error", seconds());
      if (meta.signal.aborted) throw err; // the deadline's own error names the timeout
      throw new ForwardError(`HANDLER_URL unreachable: ${(err as { code?: string }).code ?? (err as Error).message}`);
    }
    // Read (and dropped) up to the cap, the connection then kept; past it, the connection is closed.
    await response.body.dump({ limit: MAX_ANSWER_BYTES }).catch(() => undefined);
    const status = response.statusCode;
    observe(status >= 200 && status < 300 ? "ok" : `${Math.floor(status / 100)}xx`, seconds());
    if (status >= 200 && status < 300) return;
    const wait = status === 429 || status === 503 ? retryAfterMs(response.headers["retry-after"]) : undefined;
    const hint = status >= 300 && status < 400 ? " (redirects are not followed: point HANDLER_URL at the final address)" : "";
    throw new ForwardError(`HANDLER_URL answered ${status}${hint}`, status, wait);
  };
  return { handler, close: () => agent.close() };
}
