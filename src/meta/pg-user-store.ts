import { Fault } from '../base/fault.ts';
import type { PgPool } from './pg-pool.ts';
import { flag, toToken, toUser } from './user-rows.ts';
import type { AccessTokenRecord, NewUser, UserChanges, UserRecord, UserStore } from './user-store.ts';

/** Users and robot tokens on PostgreSQL (scope 'auth'); every read goes to the database, as on SQLite. */
export class PgUserStore implements UserStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const { rows } = await this.#pool.query('SELECT * FROM users WHERE name = $1', [name]);
    return rows[0] && toUser(rows[0]);
  }

  async addUser(user: NewUser): Promise<void> {
    const { rowCount } = await this.#pool.query(
      'INSERT INTO users (name, password_hash, admin, email, created_at, disabled) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (name) DO NOTHING',
      [user.name, user.passwordHash, user.admin ? 1 : 0, user.email, user.createdAt, user.disabled ? 1 : 0],
    );
    if (rowCount === 0) throw new Fault('already-exists', `user ${user.name} already exists`);
  }

  async updateUser(name: string, changes: UserChanges): Promise<void> {
    // Only the given columns change, in one statement: concurrent admin commands do not undo each other.
    const { rowCount } = await this.#pool.query(
      'UPDATE users SET password_hash = COALESCE($1, password_hash), admin = COALESCE($2, admin), email = COALESCE($3, email), disabled = COALESCE($4, disabled) WHERE name = $5',
      [changes.passwordHash ?? null, flag(changes.admin), changes.email ?? null, flag(changes.disabled), name],
    );
    if (rowCount === 0) throw new Fault('not-found', `user ${name} does not exist`);
  }

  async deleteUser(name: string): Promise<boolean> {
    return this.#pool.transaction(async () => {
      await this.#pool.query('DELETE FROM access_tokens WHERE user_name = $1', [name]);
      return (await this.#pool.query('DELETE FROM users WHERE name = $1', [name])).rowCount > 0;
    });
  }

  async listUsers(): Promise<UserRecord[]> {
    return (await this.#pool.query('SELECT * FROM users ORDER BY name')).rows.map(toUser);
  }

  async addToken(token: AccessTokenRecord): Promise<void> {
    // One statement: the user cannot go between the check and the insert.
    const { rowCount } = await this.#pool.query(
      `INSERT INTO access_tokens (id, user_name, secret_hash, scopes, description, created_at, revoked_at)
       SELECT $1, name, $3, $4, $5, $6, NULL FROM users WHERE name = $2 FOR KEY SHARE`,
      [token.id, token.user, token.secretHash, JSON.stringify(token.scopes), token.description, token.createdAt],
    );
    if (rowCount === 0) throw new Fault('not-found', `user ${token.user} does not exist`);
  }

  async getToken(id: string): Promise<AccessTokenRecord | undefined> {
    const { rows } = await this.#pool.query('SELECT * FROM access_tokens WHERE id = $1', [id]);
    return rows[0] && toToken(rows[0]);
  }

  async listTokens(user?: string): Promise<AccessTokenRecord[]> {
    const { rows } = user
      ? await this.#pool.query('SELECT * FROM access_tokens WHERE user_name = $1 ORDER BY created_at, id', [user])
      : await this.#pool.query('SELECT * FROM access_tokens ORDER BY created_at, id');
    return rows.map(toToken);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    return (await this.#pool.query('UPDATE access_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL', [at, id])).rowCount > 0;
  }
}
