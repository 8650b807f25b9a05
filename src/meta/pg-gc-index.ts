import type { GcChild, GcIndex, GcManifest } from './gc-index.ts';
import { type PgPool, untimedQuery } from './pg-pool.ts';

/**
 * GcIndex on PostgreSQL. deleteUntagged locks the manifest row first (FOR UPDATE): setTag and an index PUT
 * naming it as a child lock it FOR KEY SHARE, so each either finishes before the re-check (which then sees it)
 * or waits and finds the manifest gone.
 */
export class PgGcIndex implements GcIndex {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async manifests(): Promise<GcManifest[]> {
    const { rows } = await this.#pool.query(`SELECT m.repository, m.digest, m.media_type, m.subject, m.created_at,
        EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest) AS tagged
      FROM manifests m ORDER BY m.repository, m.digest`, [], untimedQuery);
    return rows.map((row) => ({
      repository: row.repository as string,
      digest: row.digest as string,
      mediaType: row.media_type as string,
      createdAt: row.created_at as string,
      tagged: row.tagged === true,
      ...(row.subject != null ? { subject: row.subject as string } : {}),
    }));
  }

  async children(): Promise<GcChild[]> {
    const { rows } = await this.#pool.query('SELECT repository, parent, child FROM manifest_children', [], untimedQuery);
    return rows.map((row) => ({ repository: row.repository as string, parent: row.parent as string, child: row.child as string }));
  }

  async v1Layers(): Promise<string[]> {
    const { rows } = await this.#pool.query('SELECT DISTINCT layer_digest FROM v1_images WHERE layer_digest IS NOT NULL', [], untimedQuery);
    return rows.map((row) => row.layer_digest as string);
  }

  async isReferenced(digest: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      'SELECT 1 FROM manifests WHERE digest = $1 UNION ALL SELECT 1 FROM v1_images WHERE layer_digest = $1 LIMIT 1',
      [digest],
    );
    return rowCount > 0;
  }

  async deleteUntagged(repository: string, digest: string, createdBefore: string): Promise<boolean> {
    return this.#pool.transaction(async () => {
      const { rows } = await this.#pool.query('SELECT subject, created_at FROM manifests WHERE repository = $1 AND digest = $2 FOR UPDATE', [repository, digest]);
      const row = rows[0];
      if (!row || (row.created_at as string) >= createdBefore) return false;
      const held = await this.#pool.query(
        `SELECT 1 FROM tags WHERE repository = $1 AND digest = $2
         UNION ALL SELECT 1 FROM manifest_children WHERE repository = $1 AND child = $2
         UNION ALL SELECT 1 FROM manifests WHERE repository = $1 AND digest = $3 LIMIT 1`,
        [repository, digest, row.subject ?? null],
      );
      if (held.rowCount > 0) return false;
      await this.#pool.query('DELETE FROM manifest_children WHERE repository = $1 AND parent = $2', [repository, digest]);
      await this.#pool.query('DELETE FROM manifests WHERE repository = $1 AND digest = $2', [repository, digest]);
      return true;
    });
  }
}
