/**
 * Prometheus metrics of the receiver (prom-client), one registry per receiver instance: the
 * receiver's own `gemini_webhook_*` series and prom-client's default process and Node.js runtime
 * metrics (`process_*`, `nodejs_*`: CPU, memory, event-loop lag, GC).
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

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
  "not_replicated",
  "shutting_down",
] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** What a read of the hand-off's store says (durable mode adds pending and the oldest entry's time). */
export interface StreamCounts {
  depth: number;
  deadLetters: number;
  pending?: number;
  /** When the oldest event still waiting was accepted (ms since the epoch). */
  oldestAcceptedAt?: number;
}

/** The receiver's version, from its package.json (inlined by the image's bundle). */
const VERSION: string = (require("../../package.json") as { version: string }).version;

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
    help: "Handler runs, by outcome: ok, failed (durable: will be retried), dead_letter (durable: given up), dropped (in memory: failed, not retried).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly handlerTimeouts = new Counter({
    name: "gemini_webhook_handler_timeouts_total",
    help: "Handler runs stopped at HANDLER_TIMEOUT_MS (each also counted as failed, dead_letter or dropped).",
    registers: [this.registry],
  });
  readonly deadLetters = new Gauge({
    name: "gemini_webhook_dead_letters",
    help: "Events in the dead-letter streams (durable mode), waiting for an operator: dead-letters list/replay/drop. NaN while Redis does not answer.",
    registers: [this.registry],
  });
  readonly deadLettersTrimmed = new Counter({
    name: "gemini_webhook_dead_letters_trimmed_total",
    help: "Dead letters this replica removed to keep the stream within DEAD_LETTER_MAX (oldest first).",
    registers: [this.registry],
  });
  readonly secretsReloads = new Counter({
    name: "gemini_webhook_secrets_reload_total",
    help: "Reloads of WEBHOOK_SIGNING_SECRETS_FILE, by outcome (failed: the old secrets stay in use).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly forwardSecretsReloads = new Counter({
    name: "gemini_webhook_forward_secrets_reload_total",
    help: "HANDLER_URL: reloads of FORWARD_SIGNING_SECRETS_FILE, by outcome (failed: the old secrets stay in use).",
    labelNames: ["outcome"],
    registers: [this.registry],
  });
  readonly forwards = new Histogram({
    name: "gemini_webhook_forward_seconds",
    help: "HANDLER_URL: one forward, from the request to the backend's answer, by outcome (ok: 2xx; 3xx, 4xx, 5xx: the backend's answer; error: no answer — refused, reset, timed out).",
    labelNames: ["outcome"],
    buckets: [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: "gemini_webhook_queue_depth",
    help: "Events accepted and not yet handled (the durable streams' length in durable mode). NaN while Redis does not answer.",
    registers: [this.registry],
  });
  readonly processing = new Histogram({
    name: "gemini_webhook_processing_seconds",
    help: "One handler run, from its start to its end (the handler's own time; from acceptance: gemini_webhook_event_latency_seconds).",
    labelNames: ["result"],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30],
    registers: [this.registry],
  });
  readonly eventLatency = new Histogram({
    name: "gemini_webhook_event_latency_seconds",
    help: "From the delivery's acceptance (its 200) to the end of the handler run that succeeded: queueing, retries and the handler. Durable mode measures from the stream entry's time (Redis's clock).",
    buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400],
    registers: [this.registry],
  });
  readonly handlersInFlight = new Gauge({
    name: "gemini_webhook_handlers_in_flight",
    help: "Handler runs in progress in this replica (at most HANDLER_CONCURRENCY).",
    registers: [this.registry],
  });
  readonly buildInfo = new Gauge({
    name: "gemini_webhooks_build_info",
    help: "Always 1: the receiver's version and the Node.js running it, as labels.",
    labelNames: ["version", "node"],
    registers: [this.registry],
  });

  /** Durable mode only (absent in memory, where there is no Redis): 1 while Redis answers the probe, else 0. */
  #redisUp?: Gauge;
  #redisReplicas?: Gauge;

  /** The probe's verdict (durable mode): `gemini_webhook_redis_up` and, with REDIS_WAIT_REPLICAS, the replicas online. */
  redisHealth(answering: boolean, replicas?: number): void {
    this.#redisUp ??= new Gauge({
      name: "gemini_webhook_redis_up",
      help: "1 while Redis answers this replica's probe (a PING to every master within 1 s, every second), 0 while it does not (down, unreachable, paused). Durable mode only.",
      registers: [this.registry],
    });
    this.#redisUp.set(answering ? 1 : 0);
    if (replicas === undefined) return;
    this.#redisReplicas ??= new Gauge({
      name: "gemini_webhook_redis_replicas_online",
      help: "The fewest replicas online on any master, as INFO replication reports them (REDIS_WAIT_REPLICAS set): below REDIS_WAIT_REPLICAS, deliveries are refused as not_replicated.",
      registers: [this.registry],
    });
    this.#redisReplicas.set(replicas);
  }

  #circuitOpen?: Gauge;
  #circuitOpened?: Counter;

  /** Durable mode: the handler circuit (gemini_webhook_circuit_open, gemini_webhook_circuit_opened_total). */
  circuit(state: "open" | "closed"): void {
    this.#circuitOpen ??= new Gauge({
      name: "gemini_webhook_circuit_open",
      help: "1 while this replica's handler circuit is open or half-open (HANDLER_CIRCUIT_FAILURES runs failed in a row: handling pauses, probes follow), else 0. Durable mode only.",
      registers: [this.registry],
    });
    this.#circuitOpened ??= new Counter({
      name: "gemini_webhook_circuit_opened_total",
      help: "Times this replica's handler circuit opened (a failed probe re-opens it).",
      registers: [this.registry],
    });
    this.#circuitOpen.set(state === "open" ? 1 : 0);
    if (state === "open") this.#circuitOpened.inc();
  }

  /** Label-bound children, so the hot path does no label hashing or string building. */
  readonly #children = { static: {} as Record<Outcome, ReturnType<Counter["labels"]>>, dynamic: {} as Record<Outcome, ReturnType<Counter["labels"]>> };

  readonly #processedChildren = {
    ok: this.processedTotal.labels({ outcome: "ok" }),
    failed: this.processedTotal.labels({ outcome: "failed" }),
    dead_letter: this.processedTotal.labels({ outcome: "dead_letter" }),
    dropped: this.processedTotal.labels({ outcome: "dropped" }),
  };

  processed(outcome: "ok" | "failed" | "dead_letter" | "dropped"): void {
    this.#processedChildren[outcome].inc();
  }

  /**
   * Gauges read from the hand-off's store when metrics are scraped: one read (one round trip per
   * partition) serves every scrape within `maxAgeMs`, however often or concurrently `/metrics` is
   * asked — an anonymous scraper cannot make Redis work harder. While the store does not answer the
   * gauges read NaN, never 0: an alert on "dead letters above 0" must not clear itself in an outage.
   */
  track(counts: () => Promise<StreamCounts>, durable: boolean, reports: () => boolean = () => true, maxAgeMs = 1_000, now: () => number = Date.now): void {
    let cached: { at: number; read: Promise<StreamCounts | undefined> } | undefined;
    const read = () => {
      if (!cached || now() - cached.at >= maxAgeMs) cached = { at: now(), read: counts().catch(() => undefined) };
      return cached.read;
    };
    // The stream is the same for every replica: only the one holding the reporter role exports these
    // gauges (the others export no sample at all), so sum() over replicas counts the stream once.
    const collectFrom = (gauge: Gauge, pick: (c: StreamCounts) => number | undefined) => {
      (gauge as unknown as { collect: () => Promise<void> }).collect = async () => {
        if (!reports()) return;
        const counts = await read();
        gauge.set((counts && pick(counts)) ?? NaN);
      };
      const get = gauge.get.bind(gauge);
      gauge.get = async () => {
        const metric = await get();
        return reports() ? metric : { ...metric, values: [] };
      };
    };
    collectFrom(this.queueDepth, (c) => c.depth);
    collectFrom(this.deadLetters, (c) => c.deadLetters);
    if (!durable) return; // in memory there is no stream to hold pending entries or an age to read
    const pending = new Gauge({
      name: "gemini_webhook_pending",
      help: "Events some replica has taken and not finished (running, or failed and waiting for a retry): the streams' pending entries. NaN while Redis does not answer.",
      registers: [this.registry],
    });
    const oldest = new Gauge({
      name: "gemini_webhook_oldest_event_age_seconds",
      help: "Age of the oldest event accepted and not yet handled (0 when none waits), from its stream entry's time. NaN while Redis does not answer.",
      registers: [this.registry],
    });
    collectFrom(pending, (c) => c.pending);
    collectFrom(oldest, (c) => (c.oldestAcceptedAt === undefined ? (c.depth === 0 ? 0 : undefined) : Math.max(0, (now() - c.oldestAcceptedAt) / 1000)));
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry });
    this.buildInfo.labels({ version: VERSION, node: process.version }).set(1);
    for (const outcome of ["ok", "failed"] as const) this.secretsReloads.labels({ outcome }).inc(0);
    for (const outcome of ["ok", "failed", "dead_letter", "dropped"] as const) this.processedTotal.labels({ outcome }).inc(0);
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
