import { gcRunColumns, toGcRun } from './activity-rows.ts';
import { type GcRunOutcome, type GcRunRecord, type GcRunStore, gcRunsKept, type GcTrigger } from './gc-run-store.ts';
import type { PgPool } from './pg-pool.ts';

/** GcRunStore on PostgreSQL (schema from migratePostgres). */
export class PgGcRunStore implements GcRunStore {
  readonly #pool: PgPool;

  constructor(pool: PgPool) {
    this.#pool = pool;
  }

  async start(run: { trigger: GcTrigger; dryRun: boolean; startedAt: string }): Promise<GcRunRecord> {
    return this.#pool.transaction(async () => {
      const { rows } = await this.#pool.query(
        `INSERT INTO gc_runs (run_trigger, dry_run, started_at, state, blobs_removed, bytes_freed, manifests_removed)
         VALUES ($1, $2, $3, 'running', 0, 0, 0) RETURNING ${gcRunColumns}`,
        [run.trigger, run.dryRun ? 1 : 0, run.startedAt],
      );
      await this.#pool.query('DELETE FROM gc_runs WHERE id <= (SELECT id FROM gc_runs ORDER BY id DESC LIMIT 1 OFFSET $1)', [gcRunsKept]);
      return toGcRun(rows[0]);
    });
  }

  async finish(id: number, outcome: GcRunOutcome): Promise<void> {
    if ('error' in outcome) {
      await this.#pool.query("UPDATE gc_runs SET state = 'failed', finished_at = $1, error = $2 WHERE id = $3 AND state = 'running'", [outcome.finishedAt, outcome.error, id]);
      return;
    }
    await this.#pool.query(
      `UPDATE gc_runs SET state = 'succeeded', finished_at = $1, blobs_removed = $2, bytes_freed = $3, manifests_removed = $4
       WHERE id = $5 AND state = 'running'`,
      [outcome.finishedAt, outcome.blobsRemoved, outcome.bytesFreed, outcome.manifestsRemoved, id],
    );
  }

  async failRunning(interrupted: { finishedAt: string; error: string; dryRuns: boolean }): Promise<number> {
    const { rowCount } = await this.#pool.query(
      "UPDATE gc_runs SET state = 'failed', finished_at = $1, error = $2 WHERE state = 'running' AND (dry_run = 0 OR $3 = 1)",
      [interrupted.finishedAt, interrupted.error, interrupted.dryRuns ? 1 : 0],
    );
    return rowCount;
  }

  async list(limit = gcRunsKept): Promise<GcRunRecord[]> {
    const { rows } = await this.#pool.query(`SELECT ${gcRunColumns} FROM gc_runs ORDER BY id DESC LIMIT $1`, [limit]);
    return rows.map(toGcRun);
  }
}
