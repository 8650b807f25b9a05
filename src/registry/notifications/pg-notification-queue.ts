import type { PgAdvisoryLocks } from '../../meta/pg-advisory-locks.ts';
import { lockKey } from '../../meta/pg-advisory-locks.ts';
import type { PgPool } from '../../meta/pg-pool.ts';
import type { Claim, NotificationQueue, QueuedEvent } from './notification-queue.ts';

/**
 * The queue as a table in the PostgreSQL database (migrated with the rest, scope `notifications`), shared by
 * every replica on it. An append holds a transaction-level advisory lock per endpoint until it commits, so one
 * endpoint's seqs commit in order: a sender reading past seq n never skips an n-1 committed later by another
 * replica (which `removeThrough` would then drop undelivered). Delivery is claimed per endpoint with a session
 * advisory lock: one sender per endpoint across the replicas, freed at once when its process dies.
 */
export class PgNotificationQueue implements NotificationQueue {
  readonly shared = true;
  readonly #pool: PgPool;
  readonly #locks: PgAdvisoryLocks;

  constructor(pool: PgPool, locks: PgAdvisoryLocks) {
    this.#pool = pool;
    this.#locks = locks;
  }

  async append(entries: readonly { event: string; endpoints: readonly string[] }[]): Promise<void> {
    const endpoints: string[] = [];
    const events: string[] = [];
    for (const entry of entries) for (const endpoint of entry.endpoints) { endpoints.push(endpoint); events.push(entry.event); }
    if (endpoints.length === 0) return;
    // Sorted: two appends over the same endpoints take their locks in one order, so they never deadlock.
    const keys = [...new Set(endpoints)].sort().map((endpoint) => lockKey(`notifications-append:${endpoint}`));
    await this.#pool.transaction(async () => {
      for (const key of keys) await this.#pool.query('SELECT pg_advisory_xact_lock($1::bigint)', [key]);
      await this.#pool.query(
        `INSERT INTO notification_queue (endpoint, event, queued_at)
         SELECT endpoint, event, $3 FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS e(endpoint, event, n) ORDER BY n`,
        [endpoints, events, new Date().toISOString()],
      );
    });
  }

  async head(endpoint: string, after = 0): Promise<QueuedEvent | undefined> {
    const { rows } = await this.#pool.query('SELECT seq, event FROM notification_queue WHERE endpoint = $1 AND seq > $2 ORDER BY seq LIMIT 1', [endpoint, after]);
    return rows[0] ? { seq: Number(rows[0].seq), event: String(rows[0].event) } : undefined;
  }

  async removeThrough(endpoint: string, seq: number): Promise<void> {
    await this.#pool.query('DELETE FROM notification_queue WHERE endpoint = $1 AND seq <= $2', [endpoint, seq]);
  }

  async count(endpoint: string): Promise<number> {
    const { rows } = await this.#pool.query('SELECT COUNT(*) AS n FROM notification_queue WHERE endpoint = $1', [endpoint]);
    return Number(rows[0].n);
  }

  async endpointsQueued(): Promise<string[]> {
    const { rows } = await this.#pool.query('SELECT DISTINCT endpoint FROM notification_queue ORDER BY endpoint');
    return rows.map((row) => String(row.endpoint));
  }

  async claim(endpoint: string): Promise<Claim | undefined> {
    const name = `notifications-deliver:${endpoint}`;
    const release = await this.#locks.tryLock(name);
    if (!release) return undefined;
    let released = false;
    const locks = this.#locks;
    return {
      release: async () => {
        released = true;
        await release();
      },
      get held() {
        return !released && locks.holds(name);
      },
    };
  }
}
