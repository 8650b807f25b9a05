import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { applyMigrations, runInTransaction } from '../../meta/sqlite-database.ts';
import { notificationMigrations } from '../../meta/notification-migrations.ts';
import type { Claim, NotificationQueue, QueuedEvent } from './notification-queue.ts';

/**
 * The queue as a table in meta.db (scope `notifications`); the database's synchronous=FULL makes an append durable.
 * One process serves a meta.db, so claims are held in this object; its one writer orders the seqs.
 */
export class SqliteNotificationQueue implements NotificationQueue {
  readonly shared = false;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #head: StatementSync;
  readonly #remove: StatementSync;
  readonly #count: StatementSync;
  readonly #claimed = new Set<string>();

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'notifications', notificationMigrations);
    this.#db = db;
    this.#insert = db.prepare('INSERT INTO notification_queue (endpoint, event, queued_at) VALUES (?, ?, ?)');
    this.#head = db.prepare('SELECT seq, event FROM notification_queue WHERE endpoint = ? AND seq > ? ORDER BY seq LIMIT 1');
    this.#remove = db.prepare('DELETE FROM notification_queue WHERE endpoint = ? AND seq <= ?');
    this.#count = db.prepare('SELECT COUNT(*) AS n FROM notification_queue WHERE endpoint = ?');
  }

  async append(entries: readonly { event: string; endpoints: readonly string[] }[]): Promise<void> {
    if (!entries.some((entry) => entry.endpoints.length > 0)) return;
    // Another request's runAtomically may be open (between its store calls); joining it would tie these rows to
    // its outcome. Such a transaction never spans a turn of the event loop, so the next turn is clear of it.
    while (this.#db.isTransaction) await new Promise<void>((resolve) => setImmediate(resolve));
    const at = new Date().toISOString();
    runInTransaction(this.#db, () => {
      for (const { event, endpoints } of entries) for (const endpoint of endpoints) this.#insert.run(endpoint, event, at);
    });
  }

  async head(endpoint: string, after = 0): Promise<QueuedEvent | undefined> {
    const row = this.#head.get(endpoint, after) as { seq: number; event: string } | undefined;
    return row ? { seq: Number(row.seq), event: row.event } : undefined;
  }

  async removeThrough(endpoint: string, seq: number): Promise<void> {
    this.#remove.run(endpoint, seq);
  }

  async count(endpoint: string): Promise<number> {
    return Number((this.#count.get(endpoint) as { n: number }).n);
  }

  async endpointsQueued(): Promise<string[]> {
    return (this.#db.prepare('SELECT DISTINCT endpoint FROM notification_queue ORDER BY endpoint').all() as { endpoint: string }[]).map((r) => r.endpoint);
  }

  async claim(endpoint: string): Promise<Claim | undefined> {
    if (this.#claimed.has(endpoint)) return undefined;
    this.#claimed.add(endpoint);
    let released = false;
    return {
      release: async () => {
        if (released) return;
        released = true;
        this.#claimed.delete(endpoint);
      },
      // Held in this object: lost only by its release.
      get held() {
        return !released;
      },
    };
  }
}
