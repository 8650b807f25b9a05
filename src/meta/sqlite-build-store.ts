import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { Fault } from '../base/fault.ts';
import { buildMigrations } from './build-migrations.ts';
import { autobuildFromRow, buildColumns, buildFromRow } from './build-rows.ts';
import type { AutobuildRecord, BuildRecord, BuildStore, FinishBuildInput, QueueBuildInput } from './build-store.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';

/** BuildStore on the shared database; each method is one statement or one BEGIN IMMEDIATE transaction. */
export class SqliteBuildStore implements BuildStore {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'builds', buildMigrations);
    this.#db = db;
    this.#sql = statementCache(db);
  }

  async addAutobuild(r: AutobuildRecord): Promise<void> {
    const result = this.#sql(`INSERT INTO autobuilds (id, repository, git, ref, dockerfile, context, tag, secret, created_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`).run(r.id, r.repository, r.git, r.ref, r.dockerfile, r.context, r.tag, r.secret, r.createdAt);
    if (result.changes === 0) throw new Fault('already-exists', `autobuild ${r.id} already exists`);
  }

  async getAutobuild(id: string): Promise<AutobuildRecord | undefined> {
    const row = this.#sql('SELECT * FROM autobuilds WHERE id = ?').get(id);
    return row ? autobuildFromRow(row) : undefined;
  }

  async listAutobuilds(repository?: string): Promise<AutobuildRecord[]> {
    const rows = repository === undefined
      ? this.#sql('SELECT * FROM autobuilds ORDER BY created_at, id').all()
      : this.#sql('SELECT * FROM autobuilds WHERE repository = ? ORDER BY created_at, id').all(repository);
    return rows.map(autobuildFromRow);
  }

  async deleteAutobuild(id: string): Promise<string[] | undefined> {
    return runInTransaction(this.#db, () => {
      const builds = this.#sql('SELECT id FROM builds WHERE autobuild = ?').all(id).map((row) => String(row.id));
      return this.#sql('DELETE FROM autobuilds WHERE id = ?').run(id).changes ? builds : undefined;
    });
  }

  async queueBuild(input: QueueBuildInput, limit: number): Promise<BuildRecord | undefined> {
    const autobuild = await this.getAutobuild(input.autobuildId);
    if (!autobuild) throw new Fault('not-found', `autobuild ${input.autobuildId} unknown`);
    // One statement: the count and the insert are atomic for every writer of the file.
    const result = this.#sql(`INSERT INTO builds (id, autobuild, repository, ref, commit_sha, trigger_kind, state, queued_at, tags)
      SELECT ?, a.id, a.repository, ?, ?, ?, 'queued', ?, '[]' FROM autobuilds a
      WHERE a.id = ? AND (SELECT count(*) FROM builds q WHERE q.repository = a.repository AND q.state = 'queued') < ?`)
      .run(input.id, input.ref, input.commit ?? null, input.trigger, input.queuedAt, input.autobuildId, limit);
    return result.changes ? this.getBuild(input.id) : undefined;
  }

  async claimNext(perRepository: number, now: string): Promise<BuildRecord | undefined> {
    return runInTransaction(this.#db, () => {
      const row = this.#sql(`SELECT b.id FROM builds b WHERE b.state = 'queued'
        AND (SELECT count(*) FROM builds r WHERE r.repository = b.repository AND r.state = 'running') < ?
        ORDER BY b.seq LIMIT 1`).get(perRepository);
      if (!row) return undefined;
      this.#sql("UPDATE builds SET state = 'running', started_at = ?, heartbeat_at = ? WHERE id = ?").run(now, now, row.id as string);
      return this.#get(String(row.id));
    });
  }

  async setCommit(id: string, commit: string): Promise<void> {
    this.#sql("UPDATE builds SET commit_sha = ? WHERE id = ? AND state = 'running'").run(commit, id);
  }

  async heartbeat(id: string, at: string): Promise<boolean> {
    return this.#sql("UPDATE builds SET heartbeat_at = ? WHERE id = ? AND state = 'running'").run(at, id).changes > 0;
  }

  async finishBuild(id: string, r: FinishBuildInput): Promise<boolean> {
    return this.#sql(`UPDATE builds SET state = ?, finished_at = ?, commit_sha = COALESCE(?, commit_sha), tags = ?, digest = ?, error = ?
      WHERE id = ? AND state = 'running'`).run(r.state, r.finishedAt, r.commit ?? null, JSON.stringify(r.tags ?? []), r.digest ?? null, r.error ?? null, id).changes > 0;
  }

  async failStale(cutoff: string, at: string, error: string): Promise<BuildRecord[]> {
    return runInTransaction(this.#db, () => {
      const stale = this.#sql(`SELECT ${buildColumns} FROM builds b WHERE b.state = 'running' AND b.heartbeat_at < ? ORDER BY b.seq`).all(cutoff).map(buildFromRow);
      for (const build of stale) this.#sql("UPDATE builds SET state = 'failed', finished_at = ?, error = ? WHERE id = ?").run(at, error, build.id);
      return stale;
    });
  }

  async getBuild(id: string): Promise<BuildRecord | undefined> {
    return this.#get(id);
  }

  #get(id: string): BuildRecord | undefined {
    const row = this.#sql(`SELECT ${buildColumns} FROM builds b WHERE b.id = ?`).get(id);
    return row ? buildFromRow(row) : undefined;
  }

  async listBuilds(options: { repository?: string; last?: string; n: number }): Promise<BuildRecord[]> {
    const after = options.last === undefined ? Number.MAX_SAFE_INTEGER : (this.#sql('SELECT seq FROM builds WHERE id = ?').get(options.last)?.seq as number | undefined) ?? 0;
    const rows = options.repository === undefined
      ? this.#sql(`SELECT ${buildColumns} FROM builds b WHERE b.seq < ? ORDER BY b.seq DESC LIMIT ?`).all(after, options.n)
      : this.#sql(`SELECT ${buildColumns} FROM builds b WHERE b.repository = ? AND b.seq < ? ORDER BY b.seq DESC LIMIT ?`).all(options.repository, after, options.n);
    return rows.map(buildFromRow);
  }

  async pruneBuilds(autobuildId: string, keep: number): Promise<string[]> {
    return runInTransaction(this.#db, () => {
      const old = this.#sql(`SELECT id FROM builds WHERE autobuild = ? AND state IN ('succeeded', 'failed') ORDER BY seq DESC LIMIT -1 OFFSET ?`)
        .all(autobuildId, keep).map((row) => String(row.id));
      for (const id of old) this.#sql('DELETE FROM builds WHERE id = ?').run(id);
      return old;
    });
  }
}
