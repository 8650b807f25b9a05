import { randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { authMigrations } from './auth-migrations.ts';
import { secretBytes, type SecretStore } from './secret-store.ts';
import { applyMigrations, statementCache } from './sqlite-database.ts';

/** SecretStore on the shared meta.db: `wharf` processes on one root (a registry, `wharf auth serve`) agree. */
export class SqliteSecretStore implements SecretStore {
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    this.#sql = statementCache(db);
    applyMigrations(db, 'auth', authMigrations);
  }

  async secret(name: string): Promise<Buffer> {
    // INSERT OR IGNORE: of two processes creating it at once, the first insert wins and both read it back.
    const fresh = randomBytes(secretBytes).toString('base64url');
    this.#sql('INSERT OR IGNORE INTO auth_secrets (name, secret, created_at) VALUES (?, ?, ?)').run(name, fresh, new Date().toISOString());
    const row = this.#sql('SELECT secret FROM auth_secrets WHERE name = ?').get(name) as { secret: string };
    return Buffer.from(row.secret, 'base64url');
  }
}
