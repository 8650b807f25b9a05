import type { PgPool } from '../meta/pg-pool.ts';
import type { LoginLimiter } from './login-limiter.ts';

export interface PgRateLimiterOptions {
  limit: number;
  windowSeconds: number;
  now?: () => number;
}

// UNLOGGED: failure counts need not survive a database crash (forgetting errs towards letting a user back in),
// and their writes skip the WAL. Made on first use, not by a migration: it holds nothing worth migrating.
const schema = `CREATE UNLOGGED TABLE IF NOT EXISTS login_failures (key TEXT NOT NULL, failed_at TIMESTAMPTZ NOT NULL);
  CREATE INDEX IF NOT EXISTS login_failures_by_key ON login_failures (key, failed_at);
  CREATE INDEX IF NOT EXISTS login_failures_by_time ON login_failures (failed_at)`;

/**
 * RateLimiter's sliding window in PostgreSQL, shared by the replicas: a failure is a row, a check reads the
 * newest `limit` rows of the key, a success deletes the key's rows, and each failure prunes rows older than the
 * window (so the table holds at most one window of failures). One round trip per check; logins are the token
 * server's requests and, in htpasswd mode, every request (docs/architecture.md, "Replicas").
 */
export class PgRateLimiter implements LoginLimiter {
  readonly #pool: Pick<PgPool, 'query' | 'transaction'>;
  readonly #limit: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #ready: Promise<void> | undefined;

  constructor(pool: Pick<PgPool, 'query' | 'transaction'>, options: PgRateLimiterOptions) {
    this.#pool = pool;
    this.#limit = options.limit;
    this.#windowMs = options.windowSeconds * 1000;
    this.#now = options.now ?? Date.now;
  }

  async retryAfter(key: string): Promise<number> {
    await this.#schema();
    const now = this.#now();
    const { rows } = await this.#pool.query(
      'SELECT failed_at FROM login_failures WHERE key = $1 AND failed_at > $2 ORDER BY failed_at DESC LIMIT $3',
      [key, new Date(now - this.#windowMs), this.#limit],
    );
    if (rows.length < this.#limit) return 0;
    const oldest = (rows[rows.length - 1].failed_at as Date).getTime();
    return Math.max(1, Math.ceil((oldest + this.#windowMs - now) / 1000));
  }

  async fail(key: string): Promise<void> {
    await this.#schema();
    const now = this.#now();
    await this.#pool.query(
      'WITH pruned AS (DELETE FROM login_failures WHERE failed_at <= $3) INSERT INTO login_failures (key, failed_at) VALUES ($1, $2)',
      [key, new Date(now), new Date(now - this.#windowMs)],
    );
  }

  async succeed(key: string): Promise<void> {
    await this.#schema();
    await this.#pool.query('DELETE FROM login_failures WHERE key = $1', [key]);
  }

  #schema(): Promise<void> {
    this.#ready ??= this.#create().catch((err: unknown) => {
      this.#ready = undefined;
      throw err;
    });
    return this.#ready;
  }

  async #create(): Promise<void> {
    // Two replicas starting together may race on CREATE ... IF NOT EXISTS (a unique violation in the catalog):
    // one transaction-scoped advisory lock orders them.
    await this.#pool.transaction(async () => {
      await this.#pool.query('SELECT pg_advisory_xact_lock(7273277)');
      await this.#pool.query(schema);
    });
  }
}
