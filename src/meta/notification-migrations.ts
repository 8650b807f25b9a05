/**
 * Migrations of the 'notifications' scope, append-only. Written for SQLite (AUTOINCREMENT: a seq never reused
 * after a delete); the PostgreSQL rendering turns it into an identity column (see renderMigration).
 */
export const notificationMigrations: readonly string[] = [
  `CREATE TABLE notification_queue (
     seq INTEGER PRIMARY KEY AUTOINCREMENT,
     endpoint TEXT NOT NULL,
     event TEXT NOT NULL,
     queued_at TEXT NOT NULL
   );
   CREATE INDEX notification_queue_by_endpoint ON notification_queue (endpoint, seq);`,
];
