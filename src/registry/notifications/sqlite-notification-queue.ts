import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { applyMigrations, runInTransaction } from '../../meta/sqlite-database.ts';
import type { NotificationQueue, QueuedEvent } from './notification-queue.ts';

const migrations = [
  `CREATE TABLE notification_queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     endpoint TEXT NOT NULL,
     event TEXT NOT NULL,
     queued_at TEXT NOT NULL
   );
   CREATE INDEX notification_queue_by_endpoint ON notification_queue (endpoint, seq);`,
];

/** The queue as a table in meta.db (scope `notifications`); the database's synchronous=FULL makes an append durable. */
export class SqliteNotificationQueue implements NotificationQueue {
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #head: StatementSync;
  readonly #remove: StatementSync;
  readonly #count: StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'notifications', migrations);
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO notification_queue (endpoint, event, queued_at) VALUES (?, ?, ?)');
    this.#head = db.prepare('SELECT seq, event FROM notification_queue WHERE endpoint = ? AND seq > ? ORDER BY seq LIMIT 1');
    this.#remove = db.prepare('DELETE FROM notification_queue WHERE endpoint = ? AND seq <= ?');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM notification_queue WHERE endpoint = ?');
  }

  append(entries: readonly { event: string; endpoints: readonly string[] }[]): void {
    if (!entries.some((entry) => entry.endpoints.length > 0)) return;
    const at = new Date().toISOString();
    runInTransaction(this.#db, () => {
      for (const { event, endpoints } of entries) for (const endpoint of endpoints) this.#insert.run(endpoint, event, at);
    });
  }

  head(endpoint: string, after = 0): QueuedEvent | undefined {
    const row = this.#head.get(endpoint, after) as { seq: number; event: string } | undefined;
    return row ? { seq: Number(row.seq), event: row.event } : undefined;
  }

  removeThrough(endpoint: string, seq: number): void {
    this.#remove.run(endpoint, seq);
  }

  count(endpoint: string): number {
    return Number((this.#count.get(endpoint) as { n: number }).n);
  }

  endpointsQueued(): string[] {
    return (this.#db.prepare('SELECT DISTINCT endpoint FROM notification_queue ORDER BY endpoint').all() as { endpoint: string }[]).map((r) => r.endpoint);
  }
}
