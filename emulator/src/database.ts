/**
 * The emulator's one SQLite database on Node's built-in `node:sqlite` (no native build): opened in
 * WAL mode, migrated by `PRAGMA user_version`, with a transaction helper and a statement cache.
 *
 * Each migration runs once, in order, inside one transaction with the version bump, so a data
 * directory from this release opens in the next; a directory written by a newer emulator is
 * refused rather than misread.
 */
import { DatabaseSync, SQLInputValue, StatementSync } from "node:sqlite";

/** Migration N (1-based) brings a database from user_version N-1 to N. Append; never edit one that shipped. */
const MIGRATIONS: readonly string[] = [
  // 1: webhooks and secrets, the delivery queue, jobs, JWT signing keys. IF NOT EXISTS adopts a
  // data directory from 0.1 (better-sqlite3, user_version 0), whose tables are the same.
  `
  CREATE TABLE IF NOT EXISTS webhooks (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT,
    uri TEXT NOT NULL,
    events TEXT NOT NULL,
    state TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    update_time INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS secrets (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    webhook_id TEXT NOT NULL,
    secret TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    expire_time INTEGER
  );
  CREATE INDEX IF NOT EXISTS secrets_by_webhook ON secrets (webhook_id);
  CREATE TABLE IF NOT EXISTS events (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    body BLOB NOT NULL,
    create_time INTEGER NOT NULL
  );
  CREATE TABLE IF NOT EXISTS deliveries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id TEXT NOT NULL UNIQUE,
    event_id TEXT NOT NULL,
    webhook_id TEXT,
    target TEXT NOT NULL,
    endpoint TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    first_attempt_at INTEGER,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT
  );
  CREATE INDEX IF NOT EXISTS deliveries_due ON deliveries (status, next_attempt_at);
  CREATE INDEX IF NOT EXISTS deliveries_by_webhook ON deliveries (webhook_id, status);
  CREATE INDEX IF NOT EXISTS deliveries_by_event ON deliveries (event_id);
  CREATE TABLE IF NOT EXISTS attempts (
    delivery_seq INTEGER NOT NULL,
    attempt INTEGER NOT NULL,
    scheduled_at INTEGER NOT NULL,
    at INTEGER NOT NULL,
    status INTEGER,
    latency_ms INTEGER NOT NULL,
    error TEXT
  );
  CREATE INDEX IF NOT EXISTS attempts_by_delivery ON attempts (delivery_seq);
  CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    model TEXT NOT NULL,
    display_name TEXT,
    state TEXT NOT NULL,
    webhook_config TEXT,
    create_time INTEGER NOT NULL,
    complete_at INTEGER,
    event_id TEXT
  );
  CREATE TABLE IF NOT EXISTS signing_keys (
    kid TEXT PRIMARY KEY,
    private_jwk TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    create_time INTEGER NOT NULL,
    retire_time INTEGER
  );
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;

export type Database = DatabaseSync;

export class DatabaseVersionError extends Error {
  readonly code = "ERR_EMULATOR_DATA_VERSION";
}

/** Opens (creating) `path`, or an in-memory database when `path` is undefined, and migrates it. */
export function openDatabase(path: string | undefined): Database {
  const db = new DatabaseSync(path ?? ":memory:");
  try {
    db.exec("PRAGMA journal_mode = WAL");
    // NORMAL in WAL: a committed transaction survives a process crash (SIGKILL); only an OS crash
    // or power loss can drop the last commits.
    db.exec("PRAGMA synchronous = NORMAL");
    db.exec("PRAGMA busy_timeout = 5000");
    migrate(db, path ?? ":memory:");
  } catch (error) {
    db.close();
    throw error;
  }
  return db;
}

function migrate(db: Database, where: string): void {
  const { user_version: version } = db.prepare("PRAGMA user_version").get() as unknown as { user_version: number };
  if (version > SCHEMA_VERSION) {
    throw new DatabaseVersionError(
      `${where} has schema version ${version}, newer than this emulator's ${SCHEMA_VERSION}: upgrade gemini-webhooks-emulator or use another --data-dir`,
    );
  }
  for (let next = version + 1; next <= SCHEMA_VERSION; next++) {
    transaction(db, () => {
      db.exec(MIGRATIONS[next - 1]);
      db.exec(`PRAGMA user_version = ${next}`);
    });
  }
}

/** Runs `fn` in one transaction: committed when it returns, rolled back when it throws. */
export function transaction<T>(db: Database, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (error) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw error;
  }
}

export type PrepareCached = (sql: string) => StatementSync;

/** Prepares each SQL text once per database (preparing compiles the statement every time). */
export function statementCache(db: Database): PrepareCached {
  const cache = new Map<string, StatementSync>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}

/**
 * The rows of `statement` as plain objects and a plain array: node:sqlite's rows have a null
 * prototype and belong to Node's own realm, which deep-equality checks (and Jest's sandbox) tell apart.
 */
export function allRows<T>(statement: StatementSync, ...params: SQLInputValue[]): T[] {
  return Array.from(statement.all(...params), (row) => ({ ...row }) as T);
}
