/**
 * Refused deliveries in the log, at `warn`, with what an on-call engineer needs — reason, webhook-id,
 * kind, source address — and rate-limited: the first refusal of a reason in a window is logged at
 * once, the rest of that window become one line with their count and a few of their webhook-ids.
 * An outage or a flood of forgeries is then a few lines, not thousands.
 */
import type { FastifyBaseLogger } from "fastify";

export interface Refusal {
  reason: string;
  kind: "static" | "dynamic";
  status: number;
  webhookId?: string;
  remote?: string;
  detail?: string;
}

interface Window {
  count: number;
  sample: string[];
  remotes: Set<string>;
  timer: NodeJS.Timeout;
}

export class RefusalLog {
  readonly #windows = new Map<string, Window>();

  constructor(
    private readonly log: FastifyBaseLogger,
    private readonly windowMs = 10_000,
  ) {}

  refused(refusal: Refusal): void {
    const open = this.#windows.get(refusal.reason);
    if (open) {
      open.count++;
      if (refusal.webhookId && open.sample.length < 5) open.sample.push(refusal.webhookId);
      if (refusal.remote && open.remotes.size < 5) open.remotes.add(refusal.remote);
      return;
    }
    this.log.warn(
      { reason: refusal.reason, kind: refusal.kind, status: refusal.status, webhook_id: refusal.webhookId, remote: refusal.remote, detail: refusal.detail },
      "delivery refused",
    );
    const timer = setTimeout(() => this.#flush(refusal.reason), this.windowMs);
    timer.unref();
    this.#windows.set(refusal.reason, { count: 0, sample: [], remotes: new Set(), timer });
  }

  #flush(reason: string): void {
    const window = this.#windows.get(reason);
    this.#windows.delete(reason);
    if (!window || window.count === 0) return;
    this.log.warn(
      { reason, count: window.count, webhook_ids: window.sample, remotes: [...window.remotes], window_seconds: this.windowMs / 1000 },
      `${window.count} more deliveries refused (${reason}) in the last ${this.windowMs / 1000} s`,
    );
  }

  /** Logs what the open windows hold (at shutdown). */
  close(): void {
    for (const [reason, window] of [...this.#windows]) {
      clearTimeout(window.timer);
      this.#flush(reason);
    }
  }
}
