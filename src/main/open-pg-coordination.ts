import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import { PgRateLimiter } from '../auth/pg-rate-limiter.ts';
import { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import { PgGcLock } from '../meta/pg-gc-lock.ts';
import { PgIngestLocks } from '../meta/pg-ingest-locks.ts';
import { openPgPool } from '../meta/pg-pool.ts';
import type { ReplicaCoordination } from './replica-coordination.ts';

/**
 * Replicas on one PostgreSQL: a small pool of its own (the lock connection held for the process's life, plus the
 * rate limiter's short queries), apart from the stores' pool so a store burst never waits behind it.
 */
export function openPgCoordination(config: Config, options: { logger?: Logger }): ReplicaCoordination {
  const pool = openPgPool(config.meta.url, { max: 4, applicationName: 'wharf-replica' });
  const locks = new PgAdvisoryLocks(pool, { logger: options.logger });
  const { failures, windowSeconds } = config.auth.rateLimit;
  return {
    advisoryLocks: locks,
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
