import type { LoginLimiter } from '../auth/login-limiter.ts';
import type { GcLock } from '../meta/gc-lock.ts';
import type { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import type { IngestLocks } from '../store/ingest-locks.ts';

/**
 * What replicas on one database share beyond the stores (docs/architecture.md, "Replicas"). On SQLite every
 * field is undefined/false: the in-process defaults (one registry process per root).
 */
export interface ReplicaCoordination {
  /** The blob store's upload lock. */
  ingestLocks?: IngestLocks;
  /** One garbage collection at a time: the scheduler's and `wharf gc`'s. */
  gcLock?: GcLock;
  /** The process's one lock connection, which the notification senders' claims share. */
  advisoryLocks?: PgAdvisoryLocks;
  /** Failed-login counting for auth. */
  loginLimiter?: LoginLimiter;
  /** Upload writers are released after each request, so the next one may reach another replica. */
  sharedUploads: boolean;
  close(): Promise<void>;
}
