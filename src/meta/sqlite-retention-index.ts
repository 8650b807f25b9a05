import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { registryMigrations } from './registry-migrations.ts';
import type { RetentionIndex, TagRecord } from './retention-index.ts';
import { applyMigrations } from './sqlite-database.ts';

/** RetentionIndex on the shared database; each statement is atomic on its own. */
export class SqliteRetentionIndex implements RetentionIndex {
  readonly #tags: StatementSync;
  readonly #deleteAt: StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'registry', registryMigrations);
    this.#tags = db.prepare('SELECT repository, tag, digest, updated_at FROM tags ORDER BY repository, tag');
    this.#deleteAt = db.prepare('DELETE FROM tags WHERE repository = ? AND tag = ? AND digest = ?');
  }

  async tags(): Promise<TagRecord[]> {
    return this.#tags.all().map((row) => ({
      repository: row.repository as string,
      tag: row.tag as string,
      digest: row.digest as string,
      updatedAt: row.updated_at as string,
    }));
  }

  async deleteTagAt(repository: string, tag: string, digest: string): Promise<boolean> {
    return Number(this.#deleteAt.run(repository, tag, digest).changes) > 0;
  }
}
