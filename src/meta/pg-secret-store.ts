import { randomBytes } from 'node:crypto';
import type { PgPool } from './pg-pool.ts';
import { secretBytes, type SecretStore } from './secret-store.ts';

/** SecretStore on PostgreSQL: every replica on the database gets the same secret. */
export class PgSecretStore implements SecretStore {
  readonly #pool: Pick<PgPool, 'query'>;

  constructor(pool: Pick<PgPool, 'query'>) {
    this.#pool = pool;
  }

  async secret(name: string): Promise<Buffer> {
    const fresh = randomBytes(secretBytes).toString('base64url');
    await this.#pool.query('INSERT INTO auth_secrets (name, secret, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING', [name, fresh, new Date().toISOString()]);
    // A statement of its own: under READ COMMITTED it sees the row a concurrent first insert committed, which one
    // statement (INSERT … RETURNING with a SELECT beside it) would not, its snapshot taken before that commit.
    const { rows } = await this.#pool.query('SELECT secret FROM auth_secrets WHERE name = $1', [name]);
    return Buffer.from(rows[0].secret as string, 'base64url');
  }
}
