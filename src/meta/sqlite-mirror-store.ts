import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { MirrorStore } from './mirror-store.ts';
import { mirrorMigrations } from './mirror-migrations.ts';
import { registryMigrations } from './registry-migrations.ts';
import { applyMigrations, statementCache } from './sqlite-database.ts';

/** MirrorStore on the shared database; each statement is atomic on its own and joins a transaction the caller holds. */
export class SqliteMirrorStore implements MirrorStore {
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'registry', registryMigrations);
    applyMigrations(db, 'mirror', mirrorMigrations);
    this.#sql = statementCache(db);
  }

  async tagCheckedAt(repository: string, tag: string): Promise<Date | undefined> {
    const row = this.#sql('SELECT checked_at FROM mirror_tags WHERE repository = ? AND tag = ?').get(repository, tag);
    return row ? new Date(row.checked_at as string) : undefined;
  }

  async markTagChecked(repository: string, tag: string, at: Date): Promise<void> {
    // From the tags row: a tag that is not there gets no row (and no foreign-key error).
    this.#sql(`INSERT INTO mirror_tags (repository, tag, checked_at)
      SELECT repository, tag, ? FROM tags WHERE repository = ? AND tag = ?
      ON CONFLICT (repository, tag) DO UPDATE SET checked_at = excluded.checked_at
      WHERE mirror_tags.checked_at < excluded.checked_at`).run(at.toISOString(), repository, tag);
  }

  async markCached(repository: string, digest: string, at: Date): Promise<void> {
    this.#sql(`INSERT INTO mirror_manifests (repository, digest, used_at)
      SELECT repository, digest, ? FROM manifests WHERE repository = ? AND digest = ?
      ON CONFLICT (repository, digest) DO UPDATE SET used_at = excluded.used_at
      WHERE mirror_manifests.used_at < excluded.used_at`).run(at.toISOString(), repository, digest);
  }

  async markUsed(repository: string, digest: string, at: Date): Promise<void> {
    const time = at.toISOString();
    this.#sql('UPDATE mirror_manifests SET used_at = ? WHERE repository = ? AND digest = ? AND used_at < ?').run(time, repository, digest, time);
  }

  async unusedSince(cutoff: Date, limit: number): Promise<{ repository: string; digest: string }[]> {
    return this.#sql('SELECT repository, digest FROM mirror_manifests WHERE used_at < ? ORDER BY used_at, repository, digest LIMIT ?')
      .all(cutoff.toISOString(), limit)
      .map((row) => ({ repository: row.repository as string, digest: row.digest as string }));
  }

  async forget(repository: string, digest: string): Promise<void> {
    this.#sql('DELETE FROM mirror_manifests WHERE repository = ? AND digest = ?').run(repository, digest);
  }
}
