import { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import { PgActivityStore } from '../meta/pg-activity-store.ts';
import { PgBuildStore } from '../meta/pg-build-store.ts';
import { PgGcIndex } from '../meta/pg-gc-index.ts';
import { PgGcRunStore } from '../meta/pg-gc-run-store.ts';
import { PgMetadataStore } from '../meta/pg-metadata-store.ts';
import { migratePostgres } from '../meta/pg-migrate.ts';
import { PgMirrorStore } from '../meta/pg-mirror-store.ts';
import { openPgPool, type PgPool } from '../meta/pg-pool.ts';
import { PgRetentionIndex } from '../meta/pg-retention-index.ts';
import { PgSecretStore } from '../meta/pg-secret-store.ts';
import { PgSessionStore } from '../meta/pg-session-store.ts';
import { PgUserStore } from '../meta/pg-user-store.ts';
import { PgV1Store } from '../meta/pg-v1-store.ts';
import type { NotificationQueue } from '../registry/notifications/notification-queue.ts';
import { PgNotificationQueue } from '../registry/notifications/pg-notification-queue.ts';
import type { OpenedMeta } from './opened-meta.ts';

/** openMeta's PostgreSQL half, imported only when `meta.url` names a database. */
export function openPostgresMetaAt(url: string): Promise<OpenedMeta> {
  return openPostgresMeta(openPgPool(url));
}

/** The stores over a PostgreSQL pool, its schema migrated first (also what the stores' conformance tests use). */
export async function openPostgresMeta(pool: PgPool): Promise<OpenedMeta> {
  try {
    await migratePostgres(pool);
  } catch (err) {
    await pool.close();
    throw err;
  }
  let closing: Promise<void> | undefined;
  // Delivery claims on a lock connection of the stores' pool, made only when no caller gave its own.
  let ownClaims: PgAdvisoryLocks | undefined;
  let queue: NotificationQueue | undefined;
  return {
    meta: new PgMetadataStore(pool),
    users: new PgUserStore(pool),
    v1: new PgV1Store(pool),
    gc: new PgGcIndex(pool),
    retention: new PgRetentionIndex(pool),
    mirror: new PgMirrorStore(pool),
    secrets: new PgSecretStore(pool),
    sessions: new PgSessionStore(pool),
    activity: new PgActivityStore(pool),
    gcRuns: new PgGcRunStore(pool),
    builds: new PgBuildStore(pool),
    transaction: pool.transaction,
    notifications: (locks) => (queue ??= new PgNotificationQueue(pool, locks ?? (ownClaims = new PgAdvisoryLocks(pool)))),
    description: `postgres ${pool.safeUrl}`,
    pool,
    // Idempotent, as the SQLite close is: a failed start and the caller may both close.
    close: () => (closing ??= (async () => {
      await ownClaims?.close();
      await pool.close();
    })()),
  };
}
