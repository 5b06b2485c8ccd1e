/** Prometheus metrics of the receiver (prom-client), one registry per receiver instance. */
import { Counter, Gauge, Histogram, Registry } from "prom-client";

export const OUTCOMES = [
  "verified",
  "duplicate",
  "invalid_signature",
  "stale_timestamp",
  "malformed",
  "too_large",
  "unauthorized_jwt",
  "jwks_unavailable",
  "unavailable",
] as const;
export type Outcome = (typeof OUTCOMES)[number];

export class ReceiverMetrics {
  readonly registry = new Registry();
  readonly deliveries = new Counter({
    name: "gemini_webhook_deliveries_total",
    help: "Deliveries received, by outcome.",
    labelNames: ["outcome", "kind"],
    registers: [this.registry],
  });
  readonly processedTotal = new Counter({
    name: "gemini_webhook_processed_total",
    help: "Handler runs, by outcome: ok, failed (will be retried), dead_letter (given up).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "gemini_webhook_queue_depth",
    help: "Events accepted and not yet handled (the durable stream's length in durable mode).",
    registers: [this.registry],
  });
  readonly processing = new Histogram({
    name: "gemini_webhook_processing_seconds",
    help: "Time from acceptance to the end of the handler.",
    labelNames: ["result"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });

  /** Label-bound children, so the hot path does no label hashing or string building. */
  readonly #children = { static: {} as Record<Outcome, ReturnType<Counter["labels"]>>, dynamic: {} as Record<Outcome, ReturnType<Counter["labels"]>> };

  readonly #processedChildren = {
    ok: this.processedTotal.labels({ outcome: "ok" }),
    failed: this.processedTotal.labels({ outcome: "failed" }),
    dead_letter: this.processedTotal.labels({ outcome: "dead_letter" }),
  };

  processed(outcome: "ok" | "failed" | "dead_letter"): void {
    this.#processedChildren[outcome].inc();
  }

  /** The depth is read when metrics are scraped. */
  trackDepth(read: () => Promise<number>): void {
    const gauge = this.queueDepth;
    (gauge as unknown as { collect: () => Promise<void> }).collect = async () => {
      gauge.set(await read().catch(() => 0));
    };
  }

  constructor() {
    for (const outcome of ["ok", "failed", "dead_letter"] as const) this.processedTotal.labels({ outcome }).inc(0);
    for (const outcome of OUTCOMES) {
      for (const kind of ["static", "dynamic"]) {
        const child = this.deliveries.labels({ outcome, kind });
        child.inc(0);
        this.#children[kind as "static" | "dynamic"][outcome] = child;
      }
    }
  }

  count(outcome: Outcome, kind: "static" | "dynamic"): void {
    this.#children[kind][outcome].inc();
  }

  readonly #processed = { ok: this.processing.labels({ result: "ok" }), error: this.processing.labels({ result: "error" }) };

  /** Records one handler run that began at `startedAt` (performance.now() ms). */
  observeProcessing(result: "ok" | "error", startedAt: number): void {
    this.#processed[result].observe((performance.now() - startedAt) / 1000);
  }
}
