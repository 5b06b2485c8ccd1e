/**
 * The emulator's state in one SQLite database (database.ts): webhooks, their signing secrets,
 * and (see delivery/) the durable delivery queue. In memory for tests.
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import type { WebhookState } from "gemini-webhooks-client/schema";
import { allRows, Database, openDatabase, PrepareCached, statementCache, transaction } from "./database";

export interface WebhookRow {
  seq: number;
  id: string;
  name: string | null;
  uri: string;
  events: string[];
  state: WebhookState;
  createTime: number;
  updateTime: number;
}

export interface SecretRow {
  secret: string;
  createTime: number;
  /** Null while the secret has no scheduled revocation. */
  expireTime: number | null;
}


interface RawWebhook {
  seq: number;
  id: string;
  name: string | null;
  uri: string;
  events: string;
  state: string;
  create_time: number;
  update_time: number;
}

function toRow(raw: RawWebhook): WebhookRow {
  return {
    seq: raw.seq,
    id: raw.id,
    name: raw.name,
    uri: raw.uri,
    events: JSON.parse(raw.events) as string[],
    state: raw.state as WebhookState,
    createTime: raw.create_time,
    updateTime: raw.update_time,
  };
}

export class EmulatorStore {
  readonly db: Database;
  readonly #sql: PrepareCached;

  /** `dataDir` undefined keeps everything in memory. */
  constructor(dataDir?: string) {
    if (dataDir) mkdirSync(dataDir, { recursive: true });
    this.db = openDatabase(dataDir ? join(dataDir, "emulator.sqlite") : undefined);
    this.#sql = statementCache(this.db);
  }

  close(): void {
    this.db.close();
  }

  insertWebhook(row: Omit<WebhookRow, "seq">, secret: string): WebhookRow {
    const seq = transaction(this.db, () => {
      const info = this.#sql(
        `INSERT INTO webhooks (id, name, uri, events, state, create_time, update_time)
         VALUES (@id, @name, @uri, @events, @state, @createTime, @updateTime)`,
      )
        .run({ ...row, events: JSON.stringify(row.events) });
      this.#sql(`INSERT INTO secrets (webhook_id, secret, create_time, expire_time) VALUES (?, ?, ?, NULL)`)
        .run(row.id, secret, row.createTime);
      return Number(info.lastInsertRowid);
    });
    return { ...row, seq };
  }

  getWebhook(id: string): WebhookRow | undefined {
    const raw = this.#sql(`SELECT * FROM webhooks WHERE id = ?`).get(id) as unknown as RawWebhook | undefined;
    return raw && toRow(raw);
  }

  /** Up to `limit` webhooks with seq > `afterSeq`, in creation order. */
  listWebhooks(afterSeq: number, limit: number): WebhookRow[] {
    const rows = allRows<RawWebhook>(this.#sql(`SELECT * FROM webhooks WHERE seq > ? ORDER BY seq LIMIT ?`), afterSeq, limit);
    return rows.map(toRow);
  }

  /** Every enabled webhook subscribed to `eventType`. */
  subscribers(eventType: string): WebhookRow[] {
    const rows = allRows<RawWebhook>(this.#sql(
      `SELECT w.* FROM webhooks w, json_each(w.events) e WHERE w.state = 'enabled' AND e.value = ? ORDER BY w.seq`,
    ), eventType);
    return rows.map(toRow);
  }

  updateWebhook(
    id: string,
    patch: Partial<Pick<WebhookRow, "name" | "uri" | "events" | "state">>,
    now: number,
  ): WebhookRow | undefined {
    const current = this.getWebhook(id);
    if (!current) return undefined;
    const next = { ...current, ...patch, updateTime: now };
    this.#sql(`UPDATE webhooks SET name = @name, uri = @uri, events = @events, state = @state, update_time = @updateTime WHERE id = @id`)
      .run({ id, name: next.name, uri: next.uri, events: JSON.stringify(next.events), state: next.state, updateTime: now });
    return next;
  }

  deleteWebhook(id: string): boolean {
    return transaction(this.db, () => {
      this.#sql(`DELETE FROM secrets WHERE webhook_id = ?`).run(id);
      return Number(this.#sql(`DELETE FROM webhooks WHERE id = ?`).run(id).changes) > 0;
    });
  }

  /** Secrets still valid at `now`, newest first (a read only: expired rows are pruned by rotateSecret). */
  validSecrets(id: string, now: number): SecretRow[] {
    const rows = allRows<{ secret: string; create_time: number; expire_time: number | null }>(this.#sql(
      `SELECT secret, create_time, expire_time FROM secrets WHERE webhook_id = ? AND (expire_time IS NULL OR expire_time > ?) ORDER BY seq DESC`,
    ), id, now);
    return rows.map((r) => ({ secret: r.secret, createTime: r.create_time, expireTime: r.expire_time }));
  }

  /**
   * Adds `secret` as the webhook's newest; older secrets expire at `previousExpireTime`
   * (now for immediate revocation). An earlier, sooner expiry is kept.
   */
  rotateSecret(id: string, secret: string, now: number, previousExpireTime: number): void {
    transaction(this.db, () => {
      this.#sql(`DELETE FROM secrets WHERE webhook_id = ? AND expire_time IS NOT NULL AND expire_time <= ?`).run(id, now);
      this.#sql(
        `UPDATE secrets SET expire_time = ? WHERE webhook_id = ? AND (expire_time IS NULL OR expire_time > ?)`,
      ).run(previousExpireTime, id, previousExpireTime);
      if (previousExpireTime <= now) {
        this.#sql(`DELETE FROM secrets WHERE webhook_id = ?`).run(id);
      }
      this.#sql(`INSERT INTO secrets (webhook_id, secret, create_time, expire_time) VALUES (?, ?, ?, NULL)`)
        .run(id, secret, now);
      this.#sql(`UPDATE webhooks SET update_time = ? WHERE id = ?`).run(now, id);
    });
  }

  countWebhooks(): number {
    return (this.#sql(`SELECT COUNT(*) AS n FROM webhooks`).get() as unknown as { n: number }).n;
  }
}
