/** What a handler receives: the verified event, and facts about this run of it. */

export interface ReceivedEvent {
  kind: "static" | "dynamic";
  /** The `webhook-id` header: the delivery's idempotency key. */
  webhookId: string;
  type: string;
  data: Record<string, unknown>;
  userMetadata?: Record<string, unknown>;
  /** The whole parsed envelope. */
  envelope: Record<string, unknown>;
  /** The verified body exactly as it arrived (what HANDLER_URL forwards); absent for events a 0.3 replica queued. */
  body?: string;
}

export interface HandlerMeta {
  /** Make the handler's effects idempotent on this: a run may be repeated (at-least-once). */
  webhookId: string;
  type: string;
  /** 1 for the first run; more when the event is retried or taken over from a dead replica. */
  attempt: number;
  kind: "static" | "dynamic";
  /**
   * Aborted when the run passes HANDLER_TIMEOUT_MS (the run then counts as failed, reason
   * `timeout`) or the receiver shuts down: pass it to fetch, database calls and timers, and stop.
   */
  signal: AbortSignal;
}

/** The user's code: `HANDLER_MODULE` exports one as `handle`. A throw means "try again later". */
export type EventHandler = (event: ReceivedEvent, meta: HandlerMeta) => Promise<void>;

/** The event a verified envelope makes (on the accepting replica, and again on the one that runs it). */
export function eventOf(kind: ReceivedEvent["kind"], webhookId: string, envelope: Record<string, unknown>): ReceivedEvent {
  return {
    kind,
    webhookId,
    type: String(envelope.type),
    data: (envelope.data ?? {}) as Record<string, unknown>,
    ...(envelope.user_metadata ? { userMetadata: envelope.user_metadata as Record<string, unknown> } : {}),
    envelope,
  };
}

/**
 * An event as the durable stream keeps it: its kind and webhook id, then the verified body as it
 * arrived — not re-serialised (half the bytes of the event as JSON, which repeats `data`).
 */
export function encodeEvent(kind: ReceivedEvent["kind"], webhookId: string, body: string): string {
  return `${kind}\n${webhookId}\n${body}`;
}

/** The event of a stream entry; 0.3's entries (the event as JSON) too. Throws on anything else. */
export function decodeEvent(payload: string): ReceivedEvent {
  if (payload.startsWith("{")) return JSON.parse(payload) as ReceivedEvent;
  const first = payload.indexOf("\n");
  const second = payload.indexOf("\n", first + 1);
  const kind = payload.slice(0, first);
  if (first < 0 || second < 0 || (kind !== "static" && kind !== "dynamic")) throw new TypeError("not an event entry");
  const body = payload.slice(second + 1);
  return { ...eventOf(kind, payload.slice(first + 1, second), JSON.parse(body) as Record<string, unknown>), body };
}
