/**
 * Long-running jobs shaped like the real ones that carry `webhook_config`: batches and background
 * interactions. The emulator completes each after a delay, or when an admin call picks the
 * outcome, and emits the matching event (to the job's dynamic URIs when it has any).
 */
import { randomBytes } from "node:crypto";
import { allRows, type Database } from "./database";
import type { Clock } from "./clock";
import type { DeliveryEngine } from "./delivery/engine";
import type { CatalogEventType, WebhookConfig } from "./delivery/events";

export type JobKind = "batch" | "interaction";
export const OUTCOMES = {
  batch: { succeeded: "batch.succeeded", failed: "batch.failed", expired: "batch.expired", cancelled: "batch.cancelled" },
  interaction: {
    succeeded: "interaction.completed",
    failed: "interaction.failed",
    requires_action: "interaction.requires_action",
    cancelled: "interaction.cancelled",
  },
} as const satisfies Record<JobKind, Record<string, CatalogEventType>>;
export type Outcome<K extends JobKind = JobKind> = keyof (typeof OUTCOMES)[K];

export interface JobRow {
  id: string;
  kind: JobKind;
  model: string;
  display_name: string | null;
  state: string;
  webhook_config: string | null;
  create_time: number;
  complete_at: number | null;
  event_id: string | null;
}


export class JobRunner {
  readonly #timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly deliveries: DeliveryEngine,
    /** Emulated ms after which a job completes by itself as succeeded; 0 = only by admin call. */
    readonly completionDelayMs: number,
  ) {
  }

  /** Completes jobs whose time came while the emulator was down, and re-arms the others. */
  start(): void {
    const open = allRows<JobRow>(this.db.prepare(`SELECT * FROM jobs WHERE event_id IS NULL AND complete_at IS NOT NULL`));
    for (const job of open) this.#arm(job);
  }

  stop(): void {
    for (const t of this.#timers) clearTimeout(t);
    this.#timers.clear();
  }

  create(kind: JobKind, model: string, displayName: string | undefined, webhookConfig: WebhookConfig | undefined): JobRow {
    const prefix = kind === "batch" ? "batches/" : "interactions/";
    const now = this.clock.now();
    const job: JobRow = {
      id: prefix + randomBytes(8).toString("hex"),
      kind,
      model,
      display_name: displayName ?? null,
      state: "pending",
      webhook_config: webhookConfig ? JSON.stringify(webhookConfig) : null,
      create_time: now,
      complete_at: this.completionDelayMs > 0 ? now + this.completionDelayMs : null,
      event_id: null,
    };
    this.db
      .prepare(`INSERT INTO jobs VALUES (@id, @kind, @model, @display_name, @state, @webhook_config, @create_time, @complete_at, @event_id)`)
      .run({ ...job });
    this.#arm(job);
    return job;
  }

  get(id: string): JobRow | undefined {
    return this.db.prepare(`SELECT * FROM jobs WHERE id = ?`).get(id) as unknown as JobRow | undefined;
  }

  /** Finishes a job with `outcome` and emits its event; a finished job cannot finish again. */
  complete(id: string, outcome: string): { job: JobRow; event_id: string } | { error: "not_found" | "already_done" | "bad_outcome" } {
    const job = this.get(id);
    if (!job) return { error: "not_found" };
    if (job.event_id) return { error: "already_done" };
    const type = (OUTCOMES[job.kind] as Record<string, CatalogEventType>)[outcome];
    if (!type) return { error: "bad_outcome" };
    const config = job.webhook_config ? (JSON.parse(job.webhook_config) as WebhookConfig) : undefined;
    const { event_id } = this.deliveries.emit(type, { id: job.id }, config);
    this.db.prepare(`UPDATE jobs SET state = ?, event_id = ? WHERE id = ?`).run(outcome, event_id, id);
    return { job: { ...job, state: outcome, event_id }, event_id };
  }

  #arm(job: JobRow): void {
    if (job.complete_at === null) return;
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.complete(job.id, "succeeded");
    }, this.clock.realDelayUntil(job.complete_at));
    this.#timers.add(timer);
  }
}
