import { activityColumns, noIdBound, toActivity } from './activity-rows.ts';
import type { ActivityQuery, ActivityRecord, ActivityRow, ActivityStore } from './activity-store.ts';
import type { PgPool } from './pg-pool.ts';

// Rows per INSERT: 7 parameters each, far under PostgreSQL's 65535.
const rowsPerInsert = 500;

/** ActivityStore on PostgreSQL (schema from migratePostgres). */
export class PgActivityStore implements ActivityStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async append(rows: readonly ActivityRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#pool.transaction(async () => {
      for (let start = 0; start < rows.length; start += rowsPerInsert) await this.#insert(rows.slice(start, start + rowsPerInsert));
    });
  }

  async list(query: ActivityQuery): Promise<ActivityRow[]> {
    const before = query.before ?? noIdBound;
    const { rows } = query.repository === undefined
      ? await this.#pool.query(`SELECT ${activityColumns} FROM activity WHERE id < $1 ORDER BY id DESC LIMIT $2`, [before, query.limit])
      : await this.#pool.query(`SELECT ${activityColumns} FROM activity WHERE repository = $1 AND id < $2 ORDER BY id DESC LIMIT $3`, [query.repository, before, query.limit]);
    return rows.map(toActivity);
  }

  async prune(keep: number): Promise<number> {
    const result = await this.#pool.query('DELETE FROM activity WHERE id <= (SELECT id FROM activity ORDER BY id DESC LIMIT 1 OFFSET $1)', [keep]);
    return result.rowCount;
  }

  // One statement per chunk; its rows take their ids in the order of the VALUES list.
  async #insert(rows: readonly ActivityRecord[]): Promise<void> {
    const values: unknown[] = [];
    const tuples = rows.map((row) => {
      const at = values.push(row.at, row.action, row.repository, row.tag ?? null, row.digest ?? null, row.actor, row.count) - 7;
      return `($${at + 1}, $${at + 2}, $${at + 3}, $${at + 4}, $${at + 5}, $${at + 6}, $${at + 7})`;
    });
    await this.#pool.query(`INSERT INTO activity (at, action, repository, tag, digest, actor, event_count) VALUES ${tuples.join(', ')}`, values);
  }
}
