import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Config } from '../base/config.ts';
import type { MetaStores } from '../meta/meta-stores.ts';
import { PgAdvisoryLocks } from '../meta/pg-advisory-locks.ts';
import { PgGcIndex } from '../meta/pg-gc-index.ts';
import { PgMetadataStore } from '../meta/pg-metadata-store.ts';
import { migratePostgres } from '../meta/pg-migrate.ts';
import { isPostgresUrl, openPgPool, type PgPool } from '../meta/pg-pool.ts';
import { PgRetentionIndex } from '../meta/pg-retention-index.ts';
import { PgSecretStore } from '../meta/pg-secret-store.ts';
import { PgUserStore } from '../meta/pg-user-store.ts';
import { PgV1Store } from '../meta/pg-v1-store.ts';
import { openDatabase, runAtomically } from '../meta/sqlite-database.ts';
import { SqliteGcIndex } from '../meta/sqlite-gc-index.ts';
import { SqliteMetadataStore } from '../meta/sqlite-metadata-store.ts';
import { SqliteRetentionIndex } from '../meta/sqlite-retention-index.ts';
import { SqliteSecretStore } from '../meta/sqlite-secret-store.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { SqliteV1Store } from '../meta/sqlite-v1-store.ts';
import type { NotificationQueue } from '../registry/notifications/notification-queue.ts';
import { PgNotificationQueue } from '../registry/notifications/pg-notification-queue.ts';
import { SqliteNotificationQueue } from '../registry/notifications/sqlite-notification-queue.ts';

export interface OpenedMeta extends MetaStores {
  /** The notification queue; created on first use (its migration runs then), so a registry without endpoints has no table. */
  notifications(): NotificationQueue;
  /** PostgreSQL only: the stores' pool, for what shares the database (change feed, locks). */
  pool?: PgPool;
}

/**
 * Every metadata store over the configured backend: SQLite at <root>/meta.db when `meta.url` is empty, else the
 * PostgreSQL database it names (migrated here, before anything reads it).
 */
export async function openMeta(config: Config): Promise<OpenedMeta> {
  if (isPostgresUrl(config.meta.url)) return openPostgresMeta(openPgPool(config.meta.url));
  mkdirSync(config.root, { recursive: true, mode: 0o700 });
  const path = join(config.root, 'meta.db');
  return sqliteMeta(openDatabase(path), `sqlite ${path}`);
}

/** The stores over an open SQLite connection (also what tests on ':memory:' use). */
export function sqliteMeta(db: DatabaseSync, description: string): OpenedMeta {
  let queue: NotificationQueue | undefined;
  return {
    meta: new SqliteMetadataStore(db),
    users: new SqliteUserStore(db),
    v1: new SqliteV1Store(db),
    gc: new SqliteGcIndex(db),
    retention: new SqliteRetentionIndex(db),
    secrets: new SqliteSecretStore(db),
    transaction: (work) => runAtomically(db, work),
    notifications: () => (queue ??= new SqliteNotificationQueue(db)),
    description,
    close: async () => {
      if (db.isOpen) db.close();
    },
  };
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
  // The senders' delivery claims: session advisory locks on one connection of the pool, taken only with endpoints.
  let claims: PgAdvisoryLocks | undefined;
  let queue: NotificationQueue | undefined;
  return {
    meta: new PgMetadataStore(pool),
    users: new PgUserStore(pool),
    v1: new PgV1Store(pool),
    gc: new PgGcIndex(pool),
    retention: new PgRetentionIndex(pool),
    secrets: new PgSecretStore(pool),
    transaction: pool.transaction,
    notifications: () => (queue ??= new PgNotificationQueue(pool, (claims = new PgAdvisoryLocks(pool)))),
    description: `postgres ${pool.safeUrl}`,
    pool,
    // Idempotent, as the SQLite close is: a failed start and the caller may both close.
    close: () => (closing ??= (async () => {
      await claims?.close();
      await pool.close();
    })()),
  };
}
