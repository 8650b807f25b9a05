import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Fault } from '../base/fault.ts';
import { sessionMigrations } from './session-migrations.ts';
import { insertSessionColumns, sessionValues, toSession } from './session-rows.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';
import { applyMigrations, statementCache } from './sqlite-database.ts';

/** SessionStore on the shared meta.db. */
export class SqliteSessionStore implements SessionStore {
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'sessions', sessionMigrations);
    this.#sql = statementCache(db);
  }

  async create(session: SessionRecord): Promise<void> {
    const result = this.#sql(`INSERT OR IGNORE INTO sessions (${insertSessionColumns}) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(...sessionValues(session));
    if (Number(result.changes) === 0) throw new Fault('already-exists', 'the session exists');
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const row = this.#sql('SELECT * FROM sessions WHERE id_hash = ?').get(idHash);
    return row && toSession(row);
  }

  async touch(idHash: string, at: string): Promise<void> {
    this.#sql('UPDATE sessions SET last_seen_at = ? WHERE id_hash = ? AND last_seen_at < ?').run(at, idHash, at);
  }

  async delete(idHash: string): Promise<boolean> {
    return Number(this.#sql('DELETE FROM sessions WHERE id_hash = ?').run(idHash).changes) > 0;
  }

  async deleteUser(user: string): Promise<number> {
    return Number(this.#sql('DELETE FROM sessions WHERE user_name = ?').run(user).changes);
  }

  async keepNewest(user: string, keep: number): Promise<number> {
    const sql = `DELETE FROM sessions WHERE user_name = ? AND id_hash NOT IN
      (SELECT id_hash FROM sessions WHERE user_name = ? ORDER BY created_at DESC, id_hash DESC LIMIT ?)`;
    return Number(this.#sql(sql).run(user, user, keep).changes);
  }

  async deleteExpired(now: string): Promise<number> {
    return Number(this.#sql('DELETE FROM sessions WHERE expires_at <= ?').run(now).changes);
  }
}
