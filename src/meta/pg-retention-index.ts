import { type PgPool, untimedQuery } from './pg-pool.ts';
import type { RetentionIndex, TagRecord } from './retention-index.ts';

/** RetentionIndex on PostgreSQL; each statement is atomic on its own. */
export class PgRetentionIndex implements RetentionIndex {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async tags(): Promise<TagRecord[]> {
    const { rows } = await this.#pool.query('SELECT repository, tag, digest, updated_at FROM tags ORDER BY repository, tag', [], untimedQuery);
    return rows.map((row) => ({
      repository: row.repository as string,
      tag: row.tag as string,
      digest: row.digest as string,
      updatedAt: row.updated_at as string,
    }));
  }

  async deleteTagAt(repository: string, tag: string, digest: string): Promise<boolean> {
    return (await this.#pool.query('DELETE FROM tags WHERE repository = $1 AND tag = $2 AND digest = $3', [repository, tag, digest])).rowCount > 0;
  }
}
