import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { activityMigrations } from './activity-migrations.ts';
import { gcRunColumns, toGcRun } from './activity-rows.ts';
import { type GcRunOutcome, type GcRunRecord, type GcRunStore, gcRunsKept, type GcTrigger } from './gc-run-store.ts';
import { applyMigrations, runInTransaction, statementCache } from './sqlite-database.ts';

/** GcRunStore on the shared database. */
export class SqliteGcRunStore implements GcRunStore {
  readonly #db: DatabaseSync;
  readonly #sql: (sql: string) => StatementSync;

  constructor(db: DatabaseSync) {
    applyMigrations(db, 'activity', activityMigrations);
    this.#db = db;
    this.#sql = statementCache(db);
  }

  async start(run: { trigger: GcTrigger; dryRun: boolean; startedAt: string }): Promise<GcRunRecord> {
    return runInTransaction(this.#db, () => {
      const row = this.#sql(`INSERT INTO gc_runs (run_trigger, dry_run, started_at, state, blobs_removed, bytes_freed, manifests_removed)
        VALUES (?, ?, ?, 'running', 0, 0, 0) RETURNING ${gcRunColumns}`).get(run.trigger, run.dryRun ? 1 : 0, run.startedAt);
      this.#sql('DELETE FROM gc_runs WHERE id <= (SELECT id FROM gc_runs ORDER BY id DESC LIMIT 1 OFFSET ?)').run(gcRunsKept);
      return toGcRun(row as Record<string, unknown>);
    });
  }

  async finish(id: number, outcome: GcRunOutcome): Promise<void> {
    if ('error' in outcome) {
      this.#sql("UPDATE gc_runs SET state = 'failed', finished_at = ?, error = ? WHERE id = ? AND state = 'running'").run(outcome.finishedAt, outcome.error, id);
      return;
    }
    this.#sql(`UPDATE gc_runs SET state = 'succeeded', finished_at = ?, blobs_removed = ?, bytes_freed = ?, manifests_removed = ?
      WHERE id = ? AND state = 'running'`).run(outcome.finishedAt, outcome.blobsRemoved, outcome.bytesFreed, outcome.manifestsRemoved, id);
  }

  async failRunning(interrupted: { finishedAt: string; error: string; dryRuns: boolean }): Promise<number> {
    const result = this.#sql("UPDATE gc_runs SET state = 'failed', finished_at = ?, error = ? WHERE state = 'running' AND (dry_run = 0 OR ? = 1)")
      .run(interrupted.finishedAt, interrupted.error, interrupted.dryRuns ? 1 : 0);
    return Number(result.changes);
  }

  async list(limit = gcRunsKept): Promise<GcRunRecord[]> {
    return this.#sql(`SELECT ${gcRunColumns} FROM gc_runs ORDER BY id DESC LIMIT ?`).all(limit).map(toGcRun);
  }
}
