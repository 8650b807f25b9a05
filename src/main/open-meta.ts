import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import type { Config } from '../base/config.ts';
import type { OpenedMeta } from './opened-meta.ts';
import { isPostgresUrl } from '../meta/meta-url.ts';
import { openDatabase, runAtomically } from '../meta/sqlite-database.ts';
import { SqliteActivityStore } from '../meta/sqlite-activity-store.ts';
import { SqliteBuildStore } from '../meta/sqlite-build-store.ts';
import { SqliteGcIndex } from '../meta/sqlite-gc-index.ts';
import { SqliteGcRunStore } from '../meta/sqlite-gc-run-store.ts';
import { SqliteMetadataStore } from '../meta/sqlite-metadata-store.ts';
import { SqliteMirrorStore } from '../meta/sqlite-mirror-store.ts';
import { SqliteRetentionIndex } from '../meta/sqlite-retention-index.ts';
import { SqliteSecretStore } from '../meta/sqlite-secret-store.ts';
import { SqliteSessionStore } from '../meta/sqlite-session-store.ts';
import { SqliteUserStore } from '../meta/sqlite-user-store.ts';
import { SqliteV1Store } from '../meta/sqlite-v1-store.ts';
import type { NotificationQueue } from '../registry/notifications/notification-queue.ts';
import { SqliteNotificationQueue } from '../registry/notifications/sqlite-notification-queue.ts';

export type { OpenedMeta } from './opened-meta.ts';

/**
 * Every metadata store over the configured backend: SQLite at <root>/meta.db when `meta.url` is empty, else the
 * PostgreSQL database it names (migrated here, before anything reads it).
 */
export async function openMeta(config: Config): Promise<OpenedMeta> {
  // Loaded only when configured: the PostgreSQL client and its stores are ~9 MiB of RSS a SQLite registry never needs.
  if (isPostgresUrl(config.meta.url)) return (await import('./open-postgres-meta.ts')).openPostgresMetaAt(config.meta.url);
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
    mirror: new SqliteMirrorStore(db),
    secrets: new SqliteSecretStore(db),
    sessions: new SqliteSessionStore(db),
    activity: new SqliteActivityStore(db),
    gcRuns: new SqliteGcRunStore(db),
    builds: new SqliteBuildStore(db),
    transaction: (work) => runAtomically(db, work),
    notifications: () => (queue ??= new SqliteNotificationQueue(db)),
    description,
    close: async () => {
      if (db.isOpen) db.close();
    },
  };
}
