/** The emulator's store on node:sqlite: schema versions, old and future data directories, atomic state changes. */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import { openDatabase, SCHEMA_VERSION, transaction } from "../../emulator/src/database";
import { EmulatorStore } from "../../emulator/src/store";

const dirs: string[] = [];
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "gemini-db-"));
  dirs.push(dir);
  return dir;
}
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function pragma(path: string, name: string): unknown {
  const db = new DatabaseSync(path);
  try {
    return Object.values(db.prepare(`PRAGMA ${name}`).get()!)[0];
  } finally {
    db.close();
  }
}

test("a new data directory is created in WAL mode at the current schema version", () => {
  const dir = dataDir();
  new EmulatorStore(dir).close();
  const file = join(dir, "emulator.sqlite");
  assert.equal(pragma(file, "user_version"), SCHEMA_VERSION);
  assert.equal(pragma(file, "journal_mode"), "wal");
});

test("a data directory from 0.1 (tables present, user_version 0) opens, keeps its webhooks and is stamped", () => {
  const dir = dataDir();
  const file = join(dir, "emulator.sqlite");
  const old = new DatabaseSync(file);
  old.exec(`CREATE TABLE webhooks (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, name TEXT, uri TEXT NOT NULL,
    events TEXT NOT NULL, state TEXT NOT NULL, create_time INTEGER NOT NULL, update_time INTEGER NOT NULL);
    INSERT INTO webhooks (id, name, uri, events, state, create_time, update_time)
    VALUES ('old1', 'kept', 'https://example.com/a', '["batch.succeeded"]', 'enabled', 1, 1);`);
  old.close();
  const store = new EmulatorStore(dir);
  try {
    assert.equal(store.getWebhook("old1")?.name, "kept");
    assert.equal(pragma(file, "user_version"), SCHEMA_VERSION);
  } finally {
    store.close();
  }
});

test("a data directory written by a newer emulator is refused with a message naming the versions", () => {
  const dir = dataDir();
  const file = join(dir, "emulator.sqlite");
  const future = new DatabaseSync(file);
  future.exec(`PRAGMA user_version = ${SCHEMA_VERSION + 1}`);
  future.close();
  assert.throws(() => new EmulatorStore(dir), (e: Error & { code?: string }) => {
    assert.equal(e.code, "ERR_EMULATOR_DATA_VERSION");
    assert.match(e.message, new RegExp(`schema version ${SCHEMA_VERSION + 1}, newer than this emulator's ${SCHEMA_VERSION}`));
    return true;
  });
});

test("a state change that throws half-way leaves nothing behind", () => {
  const db = openDatabase(undefined);
  try {
    assert.throws(() =>
      transaction(db, () => {
        db.prepare(`INSERT INTO webhooks (id, uri, events, state, create_time, update_time) VALUES ('x', 'u', '[]', 'enabled', 1, 1)`).run();
        throw new Error("crash between two statements");
      }),
    );
    assert.deepEqual({ ...db.prepare(`SELECT COUNT(*) AS n FROM webhooks`).get() }, { n: 0 });
  } finally {
    db.close();
  }
});
