/** Prepares each SQL text once per database: better-sqlite3 compiles on every `prepare`. */
import type Database from "better-sqlite3";

export type PrepareCached = (sql: string) => Database.Statement;

export function statementCache(db: Database.Database): PrepareCached {
  const cache = new Map<string, Database.Statement>();
  return (sql) => {
    let statement = cache.get(sql);
    if (!statement) {
      statement = db.prepare(sql);
      cache.set(sql, statement);
    }
    return statement;
  };
}
