import type { MetaStores } from '../meta/meta-stores.ts';
import type { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import type { PgPool } from '../meta/pg-pool.ts';
import type { NotificationQueue } from '../registry/notifications/notification-queue.ts';

export interface OpenedMeta extends MetaStores {
  /**
   * The notification queue; created on first use (its migration runs then), so a registry without endpoints has no
   * table. On PostgreSQL its delivery claims are session advisory locks: on `locks` when given (the replica
   * coordination's lock connection, so a process holds one), else on a connection of the stores' pool.
   */
  notifications(locks?: PgAdvisoryLocks): NotificationQueue;
  /** PostgreSQL only: the stores' pool, for what shares the database (change feed, locks). */
  pool?: PgPool;
}
