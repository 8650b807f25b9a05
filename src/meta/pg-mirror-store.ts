import type { MirrorStore } from './mirror-store.ts';
import { type PgPool, sqlState } from './pg-pool.ts';

/** MirrorStore on PostgreSQL (schema from migratePostgres); each statement is atomic on its own. */
export class PgMirrorStore implements MirrorStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async tagCheckedAt(repository: string, tag: string): Promise<Date | undefined> {
    const { rows } = await this.#pool.query('SELECT checked_at FROM mirror_tags WHERE repository = $1 AND tag = $2', [repository, tag]);
    return rows[0] ? new Date(rows[0].checked_at as string) : undefined;
  }

  async markTagChecked(repository: string, tag: string, at: Date): Promise<void> {
    // From the tags row: a tag that is not there gets no row (and no foreign-key error).
    await this.#markIfPresent(
      `INSERT INTO mirror_tags (repository, tag, checked_at)
       SELECT repository, tag, $1 FROM tags WHERE repository = $2 AND tag = $3
       ON CONFLICT (repository, tag) DO UPDATE SET checked_at = excluded.checked_at
       WHERE mirror_tags.checked_at < excluded.checked_at`,
      [at.toISOString(), repository, tag],
    );
  }

  async markCached(repository: string, digest: string, at: Date): Promise<void> {
    await this.#markIfPresent(
      `INSERT INTO mirror_manifests (repository, digest, used_at)
       SELECT repository, digest, $1 FROM manifests WHERE repository = $2 AND digest = $3
       ON CONFLICT (repository, digest) DO UPDATE SET used_at = excluded.used_at
       WHERE mirror_manifests.used_at < excluded.used_at`,
      [at.toISOString(), repository, digest],
    );
  }

  async markUsed(repository: string, digest: string, at: Date): Promise<void> {
    await this.#pool.query('UPDATE mirror_manifests SET used_at = $1 WHERE repository = $2 AND digest = $3 AND used_at < $1', [at.toISOString(), repository, digest]);
  }

  async unusedSince(cutoff: Date, limit: number): Promise<{ repository: string; digest: string }[]> {
    const { rows } = await this.#pool.query(
      'SELECT repository, digest FROM mirror_manifests WHERE used_at < $1 ORDER BY used_at, repository, digest LIMIT $2',
      [cutoff.toISOString(), limit],
    );
    return rows.map((row) => ({ repository: row.repository as string, digest: row.digest as string }));
  }

  async forget(repository: string, digest: string): Promise<void> {
    await this.#pool.query('DELETE FROM mirror_manifests WHERE repository = $1 AND digest = $2', [repository, digest]);
  }

  /**
   * An upsert from the row it hangs off. That row deleted by another session between this statement's read and its
   * foreign-key check (expiry while a pull marks) fails the check: the same as absent, a no-op.
   */
  async #markIfPresent(sql: string, values: unknown[]): Promise<void> {
    try {
      await this.#pool.query(sql, values);
    } catch (err) {
      if (sqlState(err) !== '23503') throw err;
    }
  }
}
