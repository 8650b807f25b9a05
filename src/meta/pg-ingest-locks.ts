import type { PgAdvisoryLocks, ReleaseLock } from './pg-advisory-locks.ts';

/**
 * The upload lock of every replica on one database: an advisory lock per ingest ref on the replica's lock
 * connection, so an upload held by a replica that crashed is free again as soon as its connection closes, and
 * the client continues it through another replica (docs/architecture.md, "Replicas"). It is the store's
 * `IngestLocks` seam by shape (meta does not import store).
 */
export class PgIngestLocks {
  readonly #locks: Pick<PgAdvisoryLocks, 'tryLock'>;

  constructor(locks: Pick<PgAdvisoryLocks, 'tryLock'>) {
    this.#locks = locks;
  }

  tryAcquire(ref: string): Promise<ReleaseLock | undefined> {
    return this.#locks.tryLock(`ingest:${ref}`);
  }
}
