import { Fault } from '../base/fault.ts';
import { autobuildFromRow, buildColumns, buildFromRow } from './build-rows.ts';
import type { AutobuildRecord, BuildRecord, BuildStore, FinishBuildInput, QueueBuildInput } from './build-store.ts';
import { type PgPool, sqlState } from './pg-pool.ts';

// Queueing and claiming in one repository serialise on this transaction-level lock: the queue bound and the
// per-repository running limit hold across replicas.
const repositoryLock = "SELECT pg_advisory_xact_lock(hashtext('wharf-builds:' || $1))";
// Claiming only tries it: a replica holding it is claiming (or queueing) there, and the claim moves on.
const tryRepositoryLock = "SELECT pg_try_advisory_xact_lock(hashtext('wharf-builds:' || $1)) AS taken";

/** BuildStore on PostgreSQL (schema from migratePostgres). */
export class PgBuildStore implements BuildStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async addAutobuild(r: AutobuildRecord): Promise<void> {
    try {
      await this.#pool.query(`INSERT INTO autobuilds (id, repository, git, ref, dockerfile, context, tag, secret, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, [r.id, r.repository, r.git, r.ref, r.dockerfile, r.context, r.tag, r.secret, r.createdAt]);
    } catch (err) {
      if (sqlState(err) === '23505') throw new Fault('already-exists', `autobuild ${r.id} already exists`);
      throw err;
    }
  }

  async getAutobuild(id: string): Promise<AutobuildRecord | undefined> {
    const { rows } = await this.#pool.query('SELECT * FROM autobuilds WHERE id = $1', [id]);
    return rows[0] ? autobuildFromRow(rows[0]) : undefined;
  }

  async listAutobuilds(repository?: string): Promise<AutobuildRecord[]> {
    const { rows } = repository === undefined
      ? await this.#pool.query('SELECT * FROM autobuilds ORDER BY created_at, id')
      : await this.#pool.query('SELECT * FROM autobuilds WHERE repository = $1 ORDER BY created_at, id', [repository]);
    return rows.map(autobuildFromRow);
  }

  async deleteAutobuild(id: string): Promise<string[] | undefined> {
    return this.#pool.transaction(async () => {
      const { rows } = await this.#pool.query('SELECT id FROM builds WHERE autobuild = $1', [id]);
      const { rowCount } = await this.#pool.query('DELETE FROM autobuilds WHERE id = $1', [id]);
      return rowCount ? rows.map((row) => String(row.id)) : undefined;
    });
  }

  async queueBuild(input: QueueBuildInput, limit: number): Promise<BuildRecord | undefined> {
    const autobuild = await this.getAutobuild(input.autobuildId);
    if (!autobuild) throw new Fault('not-found', `autobuild ${input.autobuildId} unknown`);
    return this.#pool.transaction(async () => {
      await this.#pool.query(repositoryLock, [autobuild.repository]);
      const { rows } = await this.#pool.query(`INSERT INTO builds (id, autobuild, repository, ref, commit_sha, trigger_kind, state, queued_at, tags)
        SELECT $1, a.id, a.repository, $2, $3, $4, 'queued', $5, '[]' FROM autobuilds a
        WHERE a.id = $6 AND (SELECT count(*) FROM builds q WHERE q.repository = a.repository AND q.state = 'queued') < $7
        RETURNING *`, [input.id, input.ref, input.commit ?? null, input.trigger, input.queuedAt, input.autobuildId, limit]);
      return rows[0] ? buildFromRow(rows[0]) : undefined;
    });
  }

  async claimNext(perRepository: number, now: string): Promise<BuildRecord | undefined> {
    return this.#pool.transaction(async () => {
      // Repositories another replica is claiming in (their lock taken) are passed over, never waited for.
      const busy: string[] = [];
      for (;;) {
        // The oldest queued build of a repository under its running limit; SKIP LOCKED passes over rows another
        // replica looks at.
        const { rows } = await this.#pool.query(`SELECT b.id, b.repository FROM builds b WHERE b.state = 'queued' AND NOT (b.repository = ANY($1::text[]))
          AND (SELECT count(*) FROM builds r WHERE r.repository = b.repository AND r.state = 'running') < $2
          ORDER BY b.seq LIMIT 1 FOR UPDATE SKIP LOCKED`, [busy, perRepository]);
        const candidate = rows[0];
        if (!candidate) return undefined;
        const { rows: locked } = await this.#pool.query(tryRepositoryLock, [candidate.repository]);
        if (!locked[0].taken) {
          busy.push(String(candidate.repository));
          continue;
        }
        // Under the lock, the count again: a replica's claim may have committed since the select's snapshot.
        const running = await this.#pool.query("SELECT count(*)::int AS n FROM builds WHERE repository = $1 AND state = 'running'", [candidate.repository]);
        if ((running.rows[0].n as number) >= perRepository) {
          busy.push(String(candidate.repository));
          continue;
        }
        const { rows: claimed } = await this.#pool.query(`UPDATE builds b SET state = 'running', started_at = $1, heartbeat_at = $1
          WHERE b.id = $2 RETURNING ${buildColumns}`, [now, candidate.id]);
        return buildFromRow(claimed[0]);
      }
    });
  }

  async setCommit(id: string, commit: string): Promise<void> {
    await this.#pool.query("UPDATE builds SET commit_sha = $1 WHERE id = $2 AND state = 'running'", [commit, id]);
  }

  async heartbeat(id: string, at: string): Promise<boolean> {
    return (await this.#pool.query("UPDATE builds SET heartbeat_at = $1 WHERE id = $2 AND state = 'running'", [at, id])).rowCount > 0;
  }

  async finishBuild(id: string, r: FinishBuildInput): Promise<boolean> {
    const { rowCount } = await this.#pool.query(`UPDATE builds SET state = $1, finished_at = $2, commit_sha = COALESCE($3, commit_sha), tags = $4, digest = $5, error = $6
      WHERE id = $7 AND state = 'running'`, [r.state, r.finishedAt, r.commit ?? null, JSON.stringify(r.tags ?? []), r.digest ?? null, r.error ?? null, id]);
    return rowCount > 0;
  }

  async failStale(cutoff: string, at: string, error: string): Promise<BuildRecord[]> {
    return this.#pool.transaction(async () => {
      const { rows } = await this.#pool.query(`SELECT ${buildColumns} FROM builds b WHERE b.state = 'running' AND b.heartbeat_at < $1 ORDER BY b.seq FOR UPDATE`, [cutoff]);
      const stale = rows.map(buildFromRow);
      if (stale.length) {
        await this.#pool.query("UPDATE builds SET state = 'failed', finished_at = $1, error = $2 WHERE id = ANY($3::text[])", [at, error, stale.map((b) => b.id)]);
      }
      return stale;
    });
  }

  async getBuild(id: string): Promise<BuildRecord | undefined> {
    const { rows } = await this.#pool.query(`SELECT ${buildColumns} FROM builds b WHERE b.id = $1`, [id]);
    return rows[0] ? buildFromRow(rows[0]) : undefined;
  }

  async listBuilds(options: { repository?: string; last?: string; n: number }): Promise<BuildRecord[]> {
    const after = options.last === undefined
      ? Number.MAX_SAFE_INTEGER
      : ((await this.#pool.query('SELECT seq FROM builds WHERE id = $1', [options.last])).rows[0]?.seq as number | undefined) ?? 0;
    const { rows } = options.repository === undefined
      ? await this.#pool.query(`SELECT ${buildColumns} FROM builds b WHERE b.seq < $1 ORDER BY b.seq DESC LIMIT $2`, [after, options.n])
      : await this.#pool.query(`SELECT ${buildColumns} FROM builds b WHERE b.repository = $1 AND b.seq < $2 ORDER BY b.seq DESC LIMIT $3`, [options.repository, after, options.n]);
    return rows.map(buildFromRow);
  }

  async pruneBuilds(autobuildId: string, keep: number): Promise<string[]> {
    const { rows } = await this.#pool.query(`DELETE FROM builds WHERE id IN (
      SELECT id FROM builds WHERE autobuild = $1 AND state IN ('succeeded', 'failed') ORDER BY seq DESC OFFSET $2) RETURNING id`, [autobuildId, keep]);
    return rows.map((row) => String(row.id));
  }
}
