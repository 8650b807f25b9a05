import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { Fault } from '../base/fault.ts';

/**
 * Opens the embedded database with the settings every SQLite-backed store relies on. One file, shared by the
 * registry metadata, users and the legacy index, so that a change spanning them is one transaction.
 */
export function openDatabase(path: string): DatabaseSync {
  const db = new DatabaseSync(path);
  db.exec('PRAGMA journal_mode = WAL');
  // FULL keeps a committed push durable across power loss, not only across a process kill.
  db.exec('PRAGMA synchronous = FULL');
  db.exec('PRAGMA foreign_keys = ON');
  // Admin commands (`wharf user add`) open the same file while the server runs.
  db.exec('PRAGMA busy_timeout = 5000');
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    scope VARCHAR(64) NOT NULL,
    version INTEGER NOT NULL,
    applied_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (scope, version)
  )`);
  return db;
}

/**
 * Applies the not-yet-applied statements of one scope ('registry', 'auth', 'v1', …) in order, each in a
 * transaction. Migrations are append-only: never edit one that has shipped. Keep the SQL portable to
 * PostgreSQL (no AUTOINCREMENT, no SQLite-only types).
 */
export function applyMigrations(db: DatabaseSync, scope: string, migrations: readonly string[]): void {
  const row = db
    .prepare('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations WHERE scope = ?')
    .get(scope) as { v: number };
  for (let version = row.v + 1; version <= migrations.length; version++) {
    runInTransaction(db, () => {
      db.exec(migrations[version - 1]);
      db.prepare('INSERT INTO schema_migrations (scope, version, applied_at) VALUES (?, ?, ?)').run(
        scope,
        version,
        new Date().toISOString(),
      );
    });
  }
}

/**
 * BEGIN IMMEDIATE so concurrent writers from another process wait on busy_timeout instead of failing mid-way.
 * Inside a transaction already open on the connection (runAtomically's) the work joins it.
 */
export function runInTransaction<T>(db: DatabaseSync, work: () => T): T {
  if (db.isTransaction) return work();
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  }
}

/** Prepares each distinct SQL text once per database and hands back the same statement after. */
export function statementCache(db: DatabaseSync): (sql: string) => StatementSync {
  const statements = new Map<string, StatementSync>();
  return (sql) => {
    let statement = statements.get(sql);
    if (!statement) statements.set(sql, (statement = db.prepare(sql)));
    return statement;
  };
}

/**
 * The SQLite MetaTransaction: `work` (calls of the stores on this connection, whose bodies run synchronously)
 * runs in one transaction. It starts from a fresh macrotask, so the microtask queue holds only its own
 * continuations: no other request's statement can run on the shared connection, and join, while it is open.
 * Work that awaits real I/O would let others in; it is rolled back and refused.
 */
export async function runAtomically<T>(db: DatabaseSync, work: () => Promise<T>): Promise<T> {
  if (db.isTransaction) return work();
  await new Promise<void>((resolve) => setImmediate(resolve));
  let yielded = false;
  const sentinel = setImmediate(() => {
    yielded = true;
  });
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = await work();
    if (yielded) throw new Fault('internal', 'a metadata transaction awaited I/O; only store calls may run inside one');
    db.exec('COMMIT');
    return result;
  } catch (err) {
    db.exec('ROLLBACK');
    throw err;
  } finally {
    clearImmediate(sentinel);
  }
}
