import { Fault } from '../base/fault.ts';
import type { PgPool } from './pg-pool.ts';
import { toV1Image } from './v1-rows.ts';
import type { V1DerivedImage, V1ImageRecord, V1LayerRecord, V1Store } from './v1-store.ts';

// A parent chain longer than this is refused as corrupt (docker capped images at 127 layers).
const maxAncestry = 1000;

/** The legacy index's rows on PostgreSQL (scope 'v1'): SqliteV1Store's statements, with row locks for its checks. */
export class PgV1Store implements V1Store {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async getImage(id: string): Promise<V1ImageRecord | undefined> {
    const { rows } = await this.#pool.query('SELECT * FROM v1_images WHERE id = $1', [id]);
    return rows[0] && toV1Image(rows[0]);
  }

  async putImageJson(image: Pick<V1ImageRecord, 'id' | 'parent' | 'json' | 'createdAt'>, holder?: string): Promise<void> {
    await this.#pool.transaction(async () => {
      // Upsert that refuses a complete row: two uploads of one id serialise on its row.
      const { rowCount } = await this.#pool.query(
        `INSERT INTO v1_images (id, parent, json, complete, created_at) VALUES ($1, $2, $3, 0, $4)
         ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, json = excluded.json, created_at = excluded.created_at,
           layer_digest = NULL, layer_size = NULL, diff_id = NULL, checksum = NULL, checksums = NULL
         WHERE v1_images.complete = 0`,
        [image.id, image.parent ?? null, image.json, image.createdAt],
      );
      if (rowCount === 0) throw new Fault('already-exists', 'Image already exists');
      if (holder) await this.#hold(holder, image.id);
    });
  }

  async setLayer(id: string, expectedJson: string, layer: V1LayerRecord, complete: boolean): Promise<boolean> {
    const { rowCount } = await this.#pool.query(
      `UPDATE v1_images SET layer_digest = $1, layer_size = $2, diff_id = $3, checksum = $4, checksums = $5, complete = $6
       WHERE id = $7 AND complete = 0 AND json = $8`,
      [layer.digest, layer.size, layer.diffId, layer.checksum, layer.checksums.join(' '), complete ? 1 : 0, id, expectedJson],
    );
    return rowCount > 0;
  }

  async markComplete(id: string): Promise<boolean> {
    const { rowCount } = await this.#pool.query('UPDATE v1_images SET complete = 1 WHERE id = $1 AND complete = 0 AND layer_digest IS NOT NULL', [id]);
    return rowCount > 0;
  }

  async putDerivedImages(repository: string, images: V1DerivedImage[], createdAt: string): Promise<void> {
    await this.#pool.transaction(async () => {
      for (const image of images) {
        await this.#pool.query(
          `INSERT INTO v1_images (id, parent, json, layer_digest, layer_size, diff_id, complete, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, 1, $7) ON CONFLICT (id) DO NOTHING`,
          [image.id, image.parent ?? null, image.json, image.layerDigest, image.layerSize, image.diffId, createdAt],
        );
        await this.#hold(repository, image.id);
      }
    });
  }

  async ancestry(id: string): Promise<string[]> {
    const chain: string[] = [];
    const seen = new Set<string>();
    for (let current: string | null = id; current && !seen.has(current); ) {
      const { rows } = await this.#pool.query('SELECT parent FROM v1_images WHERE id = $1', [current]);
      if (!rows[0]) break;
      if (chain.length >= maxAncestry) throw new Fault('failed-precondition', `image ${id} has more than ${maxAncestry} ancestors`);
      chain.push(current);
      seen.add(current);
      current = rows[0].parent as string | null;
    }
    return chain;
  }

  async recordBridge(repository: string, bridge: { imageId: string; manifestDigest: string; chain: readonly string[] }): Promise<void> {
    await this.#pool.transaction(async () => {
      await this.#pool.query(
        `INSERT INTO v1_manifests (repository, image_id, manifest_digest) VALUES ($1, $2, $3)
         ON CONFLICT (repository, image_id) DO UPDATE SET manifest_digest = excluded.manifest_digest`,
        [repository, bridge.imageId, bridge.manifestDigest],
      );
      for (const id of bridge.chain) await this.#hold(repository, id);
    });
  }

  async imageForManifest(manifestDigest: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query('SELECT image_id FROM v1_manifests WHERE manifest_digest = $1 LIMIT 1', [manifestDigest]);
    return rows[0]?.image_id as string | undefined;
  }

  async manifestForImage(repository: string, imageId: string): Promise<string | undefined> {
    const { rows } = await this.#pool.query('SELECT manifest_digest FROM v1_manifests WHERE repository = $1 AND image_id = $2', [repository, imageId]);
    return rows[0]?.manifest_digest as string | undefined;
  }

  async holders(id: string): Promise<string[]> {
    const { rows } = await this.#pool.query('SELECT repository FROM v1_image_holders WHERE image_id = $1 ORDER BY repository', [id]);
    return rows.map((row) => row.repository as string);
  }

  async hold(repository: string, ids: readonly string[]): Promise<void> {
    await this.#pool.transaction(async () => {
      for (const id of ids) await this.#hold(repository, id);
    });
  }

  async setRepositoryImages(repository: string, images: { id: string; checksum?: string }[]): Promise<void> {
    await this.#pool.transaction(async () => {
      for (const image of images) {
        await this.#pool.query(
          `INSERT INTO v1_repository_images (repository, image_id, checksum) VALUES ($1, $2, $3)
           ON CONFLICT (repository, image_id) DO UPDATE SET checksum = COALESCE(excluded.checksum, v1_repository_images.checksum)`,
          [repository, image.id, image.checksum ?? null],
        );
      }
    });
  }

  async repositoryImages(repository: string): Promise<{ id: string; checksum?: string }[]> {
    const { rows } = await this.#pool.query('SELECT image_id, checksum FROM v1_repository_images WHERE repository = $1 ORDER BY image_id', [repository]);
    return rows.map((row) => ({ id: row.image_id as string, ...(row.checksum ? { checksum: row.checksum as string } : {}) }));
  }

  async deleteRepository(repository: string): Promise<void> {
    await this.#pool.transaction(async () => {
      for (const table of ['v1_repository_images', 'v1_image_holders', 'v1_manifests']) {
        await this.#pool.query(`DELETE FROM ${table} WHERE repository = $1`, [repository]);
      }
    });
  }

  async #hold(repository: string, id: string): Promise<void> {
    await this.#pool.query(
      'INSERT INTO v1_image_holders (repository, image_id) VALUES ($1, $2) ON CONFLICT (repository, image_id) DO NOTHING',
      [repository, id],
    );
  }
}
