import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { GcChild, GcIndex, GcManifest } from './gc-index.ts';
import { registryMigrations } from './registry-migrations.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';
import { v1Migrations } from './v1-migrations.ts';

type Row = Record<string, unknown>;

/** GcIndex on the shared database. Reads need no transaction (WAL readers see a committed state). */
export class SqliteGcIndex implements GcIndex {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'registry', registryMigrations);
    applyMigrations(db, 'v1', v1Migrations);
    this.#db = db;
    this.#sql = statementCache(db);
  }

  async manifests(): Promise<GcManifest[]> {
    const rows = this.#sql(`SELECT m.repository, m.digest, m.media_type, m.subject, m.created_at,
        EXISTS (SELECT 1 FROM tags t WHERE t.repository = m.repository AND t.digest = m.digest) AS tagged
      FROM manifests m ORDER BY m.repository, m.digest`).all();
    return rows.map((row: Row) => ({
      repository: row.repository as string,
      digest: row.digest as string,
      mediaType: row.media_type as string,
      createdAt: row.created_at as string,
      tagged: Number(row.tagged) === 1,
      ...(row.subject != null ? { subject: row.subject as string } : {}),
    }));
  }

  async children(): Promise<GcChild[]> {
    return this.#sql('SELECT repository, parent, child FROM manifest_children').all().map((row: Row) => ({
      repository: row.repository as string,
      parent: row.parent as string,
      child: row.child as string,
    }));
  }

  async v1Layers(): Promise<string[]> {
    return this.#sql('SELECT DISTINCT layer_digest FROM v1_images WHERE layer_digest IS NOT NULL').all().map((row: Row) => row.layer_digest as string);
  }

  async isReferenced(digest: string): Promise<boolean> {
    return (
      this.#sql('SELECT 1 FROM manifests WHERE digest = ? LIMIT 1').get(digest) !== undefined ||
      this.#sql('SELECT 1 FROM v1_images WHERE layer_digest = ? LIMIT 1').get(digest) !== undefined
    );
  }

  async deleteUntagged(repository: string, digest: string, createdBefore: string): Promise<boolean> {
    return runInTransaction(this.#db, () => {
      const row = this.#sql('SELECT subject, created_at FROM manifests WHERE repository = ? AND digest = ?').get(repository, digest);
      if (!row || (row.created_at as string) >= createdBefore) return false;
      const held =
        this.#sql('SELECT 1 FROM tags WHERE repository = ? AND digest = ? LIMIT 1').get(repository, digest) !== undefined ||
        this.#sql('SELECT 1 FROM manifest_children WHERE repository = ? AND child = ? LIMIT 1').get(repository, digest) !== undefined ||
        (row.subject != null && this.#sql('SELECT 1 FROM manifests WHERE repository = ? AND digest = ?').get(repository, row.subject) !== undefined);
      if (held) return false;
      this.#sql('DELETE FROM manifest_children WHERE repository = ? AND parent = ?').run(repository, digest);
      this.#sql('DELETE FROM manifests WHERE repository = ? AND digest = ?').run(repository, digest);
      return true;
    });
  }
}
