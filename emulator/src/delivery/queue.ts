/**
 * The durable delivery queue, in the emulator's SQLite database: events, one delivery per
 * (event, target), and every attempt. A delivery is `pending` until it succeeds or fails for good,
 * so a SIGKILL at any moment loses nothing: on restart every pending delivery is sent (again).
 */
import { allRows, Database, PrepareCached, statementCache, transaction } from "../database";

export type DeliveryStatus = "pending" | "held" | "succeeded" | "failed" | "abandoned";
export type DeliveryKind = "static" | "dynamic";

export interface DeliveryRow {
  seq: number;
  msg_id: string;
  event_id: string;
  webhook_id: string | null;
  target: string;
  endpoint: string;
  kind: DeliveryKind;
  status: DeliveryStatus;
  attempts: number;
  first_attempt_at: number | null;
  next_attempt_at: number;
  last_error: string | null;
}

export interface AttemptRecord {
  attempt: number;
  /** When the attempt was due (emulated ms); `at - scheduledAt` is its lateness. */
  scheduledAt: number;
  at: number;
  status: number | null;
  latencyMs: number;
  error: string | null;
}


export interface NewDelivery {
  msgId: string;
  webhookId: string | null;
  target: string;
  kind: DeliveryKind;
}

export class DeliveryQueue {
  readonly #statements;
  readonly #sql: PrepareCached;

  constructor(private readonly db: Database) {
    this.#sql = statementCache(db);
    this.#statements = {
      insertEvent: this.#sql(`INSERT INTO events (id, type, body, create_time) VALUES (?, ?, ?, ?)`),
      insertDelivery: this.#sql(
        `INSERT INTO deliveries (msg_id, event_id, webhook_id, target, endpoint, kind, status, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?, 'pending', ?)`,
      ),
      body: this.#sql(`SELECT body FROM events WHERE id = ?`),
      recordAttempt: this.#sql(
        `INSERT INTO attempts (delivery_seq, attempt, scheduled_at, at, status, latency_ms, error) VALUES (?, ?, ?, ?, ?, ?, ?)`,
      ),
      finish: this.#sql(
        `UPDATE deliveries SET status = ?, attempts = ?, first_attempt_at = COALESCE(first_attempt_at, ?), next_attempt_at = ?, last_error = ? WHERE seq = ?`,
      ),
      nextDue: this.#sql(`SELECT MIN(next_attempt_at) AS at FROM deliveries WHERE status = 'pending'`),
      setStatus: this.#sql(`UPDATE deliveries SET status = ? WHERE seq = ?`),
    };
  }

  /** Stores an event and its deliveries in one transaction; they are due at `now`. */
  enqueue(event: { id: string; type: string; body: Buffer }, deliveries: NewDelivery[], now: number): void {
    transaction(this.db, () => {
      this.#statements.insertEvent.run(event.id, event.type, event.body, now);
      for (const d of deliveries) {
        this.#statements.insertDelivery.run(d.msgId, event.id, d.webhookId, d.target, new URL(d.target).origin, d.kind, now);
      }
    });
  }

  /** Pending deliveries due at `now`, oldest first, skipping the given ones and saturated endpoints. */
  due(now: number, limit: number, skipSeqs: number[], skipEndpoints: string[]): DeliveryRow[] {
    const seqHoles = skipSeqs.map(() => "?").join(",");
    const endpointHoles = skipEndpoints.map(() => "?").join(",");
    const sql =
      `SELECT * FROM deliveries WHERE status = 'pending' AND next_attempt_at <= ?` +
      (skipSeqs.length ? ` AND seq NOT IN (${seqHoles})` : "") +
      (skipEndpoints.length ? ` AND endpoint NOT IN (${endpointHoles})` : "") +
      ` ORDER BY next_attempt_at, seq LIMIT ?`;
    // The dispatcher's hot query: its rows stay inside the emulator, so they are not copied (see allRows).
    return this.#sql(sql).all(now, ...skipSeqs, ...skipEndpoints, limit) as unknown as DeliveryRow[];
  }

  body(eventId: string): Buffer {
    const { body } = this.#statements.body.get(eventId) as unknown as { body: Uint8Array };
    return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  }

  /** Records an attempt and the delivery's new status in one transaction. */
  recordAttempt(row: DeliveryRow, attempt: AttemptRecord, next: { status: DeliveryStatus; nextAttemptAt: number }): void {
    transaction(this.db, () => {
      this.#statements.recordAttempt.run(row.seq, attempt.attempt, attempt.scheduledAt, attempt.at, attempt.status, attempt.latencyMs, attempt.error);
      this.#statements.finish.run(next.status, attempt.attempt, attempt.at, next.nextAttemptAt, attempt.error, row.seq);
    });
  }

  setStatus(seq: number, status: DeliveryStatus): void {
    this.#statements.setStatus.run(status, seq);
  }

  nextDueAt(): number | null {
    return (this.#statements.nextDue.get() as unknown as { at: number | null }).at;
  }

  /** A disabled webhook's waiting deliveries resume with a fresh window when it is enabled again. */
  resumeHeld(webhookId: string, now: number): number {
    return Number(this.#sql(`UPDATE deliveries SET status = 'pending', next_attempt_at = ?, first_attempt_at = NULL WHERE webhook_id = ? AND status = 'held'`)
      .run(now, webhookId).changes);
  }

  abandonForWebhook(webhookId: string): number {
    return Number(this.#sql(`UPDATE deliveries SET status = 'abandoned' WHERE webhook_id = ? AND status IN ('pending', 'held')`)
      .run(webhookId).changes);
  }

  holdForWebhook(webhookId: string): number {
    return Number(this.#sql(`UPDATE deliveries SET status = 'held' WHERE webhook_id = ? AND status = 'pending'`).run(webhookId).changes);
  }

  /** Deliveries with their attempts, for the inspection endpoint. */
  inspect(filter: { eventId?: string; webhookId?: string }, limit = 1000): (DeliveryRow & { attempt_log: AttemptRecord[] })[] {
    const where: string[] = [];
    const args: (string | number)[] = [];
    if (filter.eventId) {
      where.push("event_id = ?");
      args.push(filter.eventId);
    }
    if (filter.webhookId) {
      where.push("webhook_id = ?");
      args.push(filter.webhookId);
    }
    const rows = allRows<DeliveryRow>(this.#sql(`SELECT * FROM deliveries ${where.length ? "WHERE " + where.join(" AND ") : ""} ORDER BY seq LIMIT ?`), ...args, limit);
    const attemptsOf = this.#sql(
      `SELECT attempt, scheduled_at AS scheduledAt, at, status, latency_ms AS latencyMs, error FROM attempts WHERE delivery_seq = ? ORDER BY attempt`,
    );
    return rows.map((row) => ({ ...row, attempt_log: allRows<AttemptRecord>(attemptsOf, row.seq) }));
  }

  counts(): Record<DeliveryStatus, number> {
    const rows = allRows<{ status: DeliveryStatus; n: number }>(this.#sql(`SELECT status, COUNT(*) AS n FROM deliveries GROUP BY status`));
    const out = { pending: 0, held: 0, succeeded: 0, failed: 0, abandoned: 0 };
    for (const r of rows) out[r.status] = r.n;
    return out;
  }
}
