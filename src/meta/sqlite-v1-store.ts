import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Fault } from '../base/fault.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';
import { v1Migrations } from './v1-migrations.ts';
import { toV1Image } from './v1-rows.ts';
import type { V1DerivedImage, V1ImageRecord, V1LayerRecord, V1Store } from './v1-store.ts';

// A parent chain longer than this is refused as corrupt (docker capped images at 127 layers).
const maxAncestry = 1000;

export class SqliteV1Store implements V1Store {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    this.#db = db;
    this.#sql = statementCache(db);
    applyMigrations(db, 'v1', v1Migrations);
  }

  async getImage(id: string): Promise<V1ImageRecord | undefined> {
    const row = this.#sql('SELECT * FROM v1_images WHERE id = ?').get(id);
    return row && toV1Image(row);
  }

  async putImageJson(image: Pick<V1ImageRecord, 'id' | 'parent' | 'json' | 'createdAt'>, holder?: string): Promise<void> {
    runInTransaction(this.#db, () => {
      const existing = this.#sql('SELECT complete FROM v1_images WHERE id = ?').get(image.id) as { complete: number } | undefined;
      if (existing?.complete) throw new Fault('already-exists', 'Image already exists');
      this.#sql('DELETE FROM v1_images WHERE id = ?').run(image.id);
      this.#sql('INSERT INTO v1_images (id, parent, json, complete, created_at) VALUES (?, ?, ?, 0, ?)').run(
        image.id,
        image.parent ?? null,
        image.json,
        image.createdAt,
      );
      if (holder) this.#hold(holder, image.id);
    });
  }

  async setLayer(id: string, expectedJson: string, layer: V1LayerRecord, complete: boolean): Promise<boolean> {
    const result = this.#sql(
      `UPDATE v1_images SET layer_digest = ?, layer_size = ?, diff_id = ?, checksum = ?, checksums = ?, complete = ?
       WHERE id = ? AND complete = 0 AND json = ?`,
    ).run(layer.digest, layer.size, layer.diffId, layer.checksum, layer.checksums.join(' '), complete ? 1 : 0, id, expectedJson);
    return Number(result.changes) > 0;
  }

  async markComplete(id: string): Promise<boolean> {
    const result = this.#sql('UPDATE v1_images SET complete = 1 WHERE id = ? AND complete = 0 AND layer_digest IS NOT NULL').run(id);
    return Number(result.changes) > 0;
  }

  async putDerivedImages(repository: string, images: V1DerivedImage[], createdAt: string): Promise<void> {
    runInTransaction(this.#db, () => {
      for (const image of images) {
        this.#sql(
          `INSERT INTO v1_images (id, parent, json, layer_digest, layer_size, diff_id, complete, created_at)
           VALUES (?, ?, ?, ?, ?, ?, 1, ?) ON CONFLICT (id) DO NOTHING`,
        ).run(image.id, image.parent ?? null, image.json, image.layerDigest, image.layerSize, image.diffId, createdAt);
        this.#hold(repository, image.id);
      }
    });
  }

  async ancestry(id: string): Promise<string[]> {
    const chain: string[] = [];
    const seen = new Set<string>();
    for (let current: string | null = id; current && !seen.has(current); ) {
      const row = this.#sql('SELECT parent FROM v1_images WHERE id = ?').get(current) as { parent: string | null } | undefined;
      if (!row) break;
      if (chain.length >= maxAncestry) throw new Fault('failed-precondition', `image ${id} has more than ${maxAncestry} ancestors`);
      chain.push(current);
      seen.add(current);
      current = row.parent;
    }
    return chain;
  }

  async recordBridge(repository: string, bridge: { imageId: string; manifestDigest: string; chain: readonly string[] }): Promise<void> {
    runInTransaction(this.#db, () => {
      this.#sql(
        `INSERT INTO v1_manifests (repository, image_id, manifest_digest) VALUES (?, ?, ?)
         ON CONFLICT (repository, image_id) DO UPDATE SET manifest_digest = excluded.manifest_digest`,
      ).run(repository, bridge.imageId, bridge.manifestDigest);
      for (const id of bridge.chain) this.#hold(repository, id);
    });
  }

  async imageForManifest(manifestDigest: string): Promise<string | undefined> {
    const row = this.#sql('SELECT image_id FROM v1_manifests WHERE manifest_digest = ? LIMIT 1').get(manifestDigest) as { image_id: string } | undefined;
    return row?.image_id;
  }

  async manifestForImage(repository: string, imageId: string): Promise<string | undefined> {
    const row = this.#sql('SELECT manifest_digest FROM v1_manifests WHERE repository = ? AND image_id = ?').get(repository, imageId) as
      | { manifest_digest: string }
      | undefined;
    return row?.manifest_digest;
  }

  async holders(id: string): Promise<string[]> {
    const rows = this.#sql('SELECT repository FROM v1_image_holders WHERE image_id = ? ORDER BY repository').all(id) as unknown as { repository: string }[];
    return rows.map((row) => row.repository);
  }

  async hold(repository: string, ids: readonly string[]): Promise<void> {
    runInTransaction(this.#db, () => {
      for (const id of ids) this.#hold(repository, id);
    });
  }

  async setRepositoryImages(repository: string, images: { id: string; checksum?: string }[]): Promise<void> {
    runInTransaction(this.#db, () => {
      for (const image of images) {
        this.#sql(
          `INSERT INTO v1_repository_images (repository, image_id, checksum) VALUES (?, ?, ?)
           ON CONFLICT (repository, image_id) DO UPDATE SET checksum = COALESCE(excluded.checksum, v1_repository_images.checksum)`,
        ).run(repository, image.id, image.checksum ?? null);
      }
    });
  }

  async repositoryImages(repository: string): Promise<{ id: string; checksum?: string }[]> {
    const rows = this.#sql('SELECT image_id, checksum FROM v1_repository_images WHERE repository = ? ORDER BY image_id').all(repository) as unknown as {
      image_id: string;
      checksum: string | null;
    }[];
    return rows.map((row) => ({ id: row.image_id, ...(row.checksum ? { checksum: row.checksum } : {}) }));
  }

  async deleteRepository(repository: string): Promise<void> {
    runInTransaction(this.#db, () => {
      this.#sql('DELETE FROM v1_repository_images WHERE repository = ?').run(repository);
      this.#sql('DELETE FROM v1_image_holders WHERE repository = ?').run(repository);
      this.#sql('DELETE FROM v1_manifests WHERE repository = ?').run(repository);
    });
  }

  #hold(repository: string, id: string): void {
    this.#sql('INSERT INTO v1_image_holders (repository, image_id) VALUES (?, ?) ON CONFLICT (repository, image_id) DO NOTHING').run(repository, id);
  }
}
