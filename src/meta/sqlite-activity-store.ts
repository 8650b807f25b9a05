import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { activityMigrations } from './activity-migrations.ts';
import { activityColumns, noIdBound, toActivity } from './activity-rows.ts';
import type { ActivityQuery, ActivityRecord, ActivityRow, ActivityStore } from './activity-store.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';

/** ActivityStore on the shared database. */
export class SqliteActivityStore implements ActivityStore {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'activity', activityMigrations);
    this.#db = db;
    this.#sql = statementCache(db);
  }

  async append(rows: readonly ActivityRecord[]): Promise<void> {
    const insert = this.#sql('INSERT INTO activity (at, action, repository, tag, digest, actor, event_count) VALUES (?, ?, ?, ?, ?, ?, ?)');
    runInTransaction(this.#db, () => {
      for (const row of rows) insert.run(row.at, row.action, row.repository, row.tag ?? null, row.digest ?? null, row.actor, row.count);
    });
  }

  async list(query: ActivityQuery): Promise<ActivityRow[]> {
    const before = query.before ?? noIdBound;
    const rows = query.repository === undefined
      ? this.#sql(`SELECT ${activityColumns} FROM activity WHERE id < ? ORDER BY id DESC LIMIT ?`).all(before, query.limit)
      : this.#sql(`SELECT ${activityColumns} FROM activity WHERE repository = ? AND id < ? ORDER BY id DESC LIMIT ?`).all(query.repository, before, query.limit);
    return rows.map(toActivity);
  }

  async prune(keep: number): Promise<number> {
    const result = this.#sql('DELETE FROM activity WHERE id <= (SELECT id FROM activity ORDER BY id DESC LIMIT 1 OFFSET ?)').run(keep);
    return Number(result.changes);
  }
}
