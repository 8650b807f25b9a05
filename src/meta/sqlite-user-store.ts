import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Fault } from '../base/fault.ts';
import { authMigrations } from './auth-migrations.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';
import { flag, toToken, toUser } from './user-rows.ts';
import type { AccessTokenRecord, NewUser, UserChanges, UserRecord, UserStore } from './user-store.ts';

/**
 * Users and robot tokens on the shared database (migration scope 'auth'). Admin commands write through another
 * connection to the same file while the server runs; every read goes to the database, so their changes (a new
 * password, a revoked token) hold on the next request.
 */
export class SqliteUserStore implements UserStore {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = statementCache(db);
    applyMigrations(db, 'auth', authMigrations);
  }

  async getUser(name: string): Promise<UserRecord | undefined> {
    const row = this.#sql('SELECT * FROM users WHERE name = ?').get(name);
    return row && toUser(row);
  }

  async addUser(user: NewUser): Promise<void> {
    // INSERT … WHERE NOT EXISTS: one statement, so two admins adding the same name race safely.
    const result = this.#sql(
      'INSERT INTO users (name, password_hash, admin, email, created_at, disabled) SELECT ?, ?, ?, ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM users WHERE name = ?)',
    ).run(user.name, user.passwordHash, user.admin ? 1 : 0, user.email, user.createdAt, user.disabled ? 1 : 0, user.name);
    if (Number(result.changes) === 0) throw new Fault('already-exists', `user ${user.name} already exists`);
  }

  async updateUser(name: string, changes: UserChanges): Promise<void> {
    // Only the given columns change, in one statement: concurrent admin commands do not undo each other.
    const result = this.#sql(
      'UPDATE users SET password_hash = COALESCE(?, password_hash), admin = COALESCE(?, admin), email = COALESCE(?, email), disabled = COALESCE(?, disabled) WHERE name = ?',
    ).run(changes.passwordHash ?? null, flag(changes.admin), changes.email ?? null, flag(changes.disabled), name);
    if (Number(result.changes) === 0) throw new Fault('not-found', `user ${name} does not exist`);
  }

  async deleteUser(name: string): Promise<boolean> {
    return runInTransaction(this.#db, () => {
      this.#sql('DELETE FROM access_tokens WHERE user_name = ?').run(name);
      return Number(this.#sql('DELETE FROM users WHERE name = ?').run(name).changes) > 0;
    });
  }

  async listUsers(): Promise<UserRecord[]> {
    return this.#sql('SELECT * FROM users ORDER BY name').all().map(toUser);
  }

  async addToken(token: AccessTokenRecord): Promise<void> {
    if (!(await this.getUser(token.user))) throw new Fault('not-found', `user ${token.user} does not exist`);
    this.#sql(
      'INSERT INTO access_tokens (id, user_name, secret_hash, scopes, description, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)',
    ).run(token.id, token.user, token.secretHash, JSON.stringify(token.scopes), token.description, token.createdAt);
  }

  async getToken(id: string): Promise<AccessTokenRecord | undefined> {
    const row = this.#sql('SELECT * FROM access_tokens WHERE id = ?').get(id);
    return row && toToken(row);
  }

  async listTokens(user?: string): Promise<AccessTokenRecord[]> {
    const rows = user
      ? this.#sql('SELECT * FROM access_tokens WHERE user_name = ? ORDER BY created_at, id').all(user)
      : this.#sql('SELECT * FROM access_tokens ORDER BY created_at, id').all();
    return rows.map(toToken);
  }

  async revokeToken(id: string, at: string): Promise<boolean> {
    return Number(this.#sql('UPDATE access_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL').run(at, id).changes) > 0;
  }
}
