import { Fault } from '../base/fault.ts';
import type { PgPool } from './pg-pool.ts';
import { insertSessionColumns, sessionValues, toSession } from './session-rows.ts';
import type { SessionRecord, SessionStore } from './session-store.ts';

/** SessionStore on PostgreSQL: replicas behind one balancer share the sessions. */
export class PgSessionStore implements SessionStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async create(session: SessionRecord): Promise<void> {
    const { rowCount } = await this.#pool.query(
      `INSERT INTO sessions (${insertSessionColumns}) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id_hash) DO NOTHING`,
      sessionValues(session),
    );
    if (rowCount === 0) throw new Fault('already-exists', 'the session exists');
  }

  async get(idHash: string): Promise<SessionRecord | undefined> {
    const { rows } = await this.#pool.query('SELECT * FROM sessions WHERE id_hash = $1', [idHash]);
    return rows[0] && toSession(rows[0]);
  }

  async touch(idHash: string, at: string): Promise<void> {
    await this.#pool.query('UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1', [at, idHash]);
  }

  async delete(idHash: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM sessions WHERE id_hash = $1', [idHash])).rowCount > 0;
  }

  async deleteUser(user: string): Promise<number> {
    return (await this.#pool.query('DELETE FROM sessions WHERE user_name = $1', [user])).rowCount;
  }

  async keepNewest(user: string, keep: number): Promise<number> {
    const sql = `DELETE FROM sessions WHERE user_name = $1 AND id_hash NOT IN
      (SELECT id_hash FROM sessions WHERE user_name = $1 ORDER BY created_at DESC, id_hash DESC LIMIT $2)`;
    return (await this.#pool.query(sql, [user, keep])).rowCount;
  }

  async deleteExpired(now: string): Promise<number> {
    return (await this.#pool.query('DELETE FROM sessions WHERE expires_at <= $1', [now])).rowCount;
  }
}
