/**
 * Migrations of the 'activity' scope (the hub's activity rows and GC run records), append-only. Neither table
 * hangs off a registry row: the activity of a deleted repository stays until pruned, as a log does.
 */
export const activityMigrations: readonly string[] = [
  `
  CREATE TABLE activity (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at VARCHAR(40) NOT NULL,
    action VARCHAR(16) NOT NULL,
    repository VARCHAR(255) NOT NULL,
    tag VARCHAR(128),
    digest VARCHAR(200),
    actor VARCHAR(255) NOT NULL,
    event_count INTEGER NOT NULL
  );
  CREATE INDEX activity_by_repository ON activity (repository, id);

  CREATE TABLE gc_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_trigger VARCHAR(16) NOT NULL,
    dry_run INTEGER NOT NULL,
    started_at VARCHAR(40) NOT NULL,
    finished_at VARCHAR(40),
    state VARCHAR(16) NOT NULL,
    blobs_removed BIGINT NOT NULL,
    bytes_freed BIGINT NOT NULL,
    manifests_removed BIGINT NOT NULL,
    error TEXT
  );
  `,
];
