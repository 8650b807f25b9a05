import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import type { LoginLimiter } from '../auth/login-limiter.ts';
import { PgRateLimiter } from '../auth/pg-rate-limiter.ts';
import type { GcLock } from '../meta/gc-lock.ts';
import { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import { PgGcLock } from '../meta/pg-gc-lock.ts';
import { PgIngestLocks } from '../meta/pg-ingest-locks.ts';
import { isPostgresUrl, openPgPool } from '../meta/pg-pool.ts';
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
  /** Failed-login counting for auth. */
  loginLimiter?: LoginLimiter;
  /** Upload writers are released after each request, so the next one may reach another replica. */
  sharedUploads: boolean;
  close(): Promise<void>;
}

/**
 * On PostgreSQL: a small pool of its own (the lock connection held for the process's life, plus the rate
 * limiter's short queries), apart from the stores' pool so a store burst never waits behind it.
 */
export function openReplicaCoordination(config: Config, options: { logger?: Logger } = {}): ReplicaCoordination {
  if (!isPostgresUrl(config.meta.url)) return { sharedUploads: false, close: async () => {} };
  const pool = openPgPool(config.meta.url, { max: 4, applicationName: 'wharf-replica' });
  const locks = new PgAdvisoryLocks(pool, { logger: options.logger });
  const { failures, windowSeconds } = config.auth.rateLimit;
  return {
    ingestLocks: new PgIngestLocks(locks),
    gcLock: new PgGcLock(locks),
    loginLimiter: new PgRateLimiter(pool, { limit: failures, windowSeconds }),
    sharedUploads: true,
    close: async () => {
      await locks.close();
      await pool.close();
    },
  };
}
