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
