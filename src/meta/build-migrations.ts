/**
 * Migrations of the 'builds' scope (automated builds, src/hub/builds), append-only (see applyMigrations). A
 * build goes with its autobuild (ON DELETE CASCADE). `seq` orders builds (queue order, newest-first lists).
 */
export const buildMigrations: readonly string[] = [
  `
  CREATE TABLE autobuilds (
    id VARCHAR(16) NOT NULL PRIMARY KEY,
    repository VARCHAR(255) NOT NULL,
    git TEXT NOT NULL,
    ref VARCHAR(255) NOT NULL,
    dockerfile TEXT NOT NULL,
    context TEXT NOT NULL,
    tag VARCHAR(128) NOT NULL,
    secret VARCHAR(128) NOT NULL,
    created_at VARCHAR(40) NOT NULL
  );
  CREATE INDEX autobuilds_by_repository ON autobuilds (repository, created_at);

  CREATE TABLE builds (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id VARCHAR(16) NOT NULL UNIQUE,
    autobuild VARCHAR(16) NOT NULL REFERENCES autobuilds (id) ON DELETE CASCADE,
    repository VARCHAR(255) NOT NULL,
    ref VARCHAR(255) NOT NULL,
    commit_sha VARCHAR(40),
    trigger_kind VARCHAR(16) NOT NULL,
    state VARCHAR(16) NOT NULL,
    queued_at VARCHAR(40) NOT NULL,
    started_at VARCHAR(40),
    finished_at VARCHAR(40),
    heartbeat_at VARCHAR(40),
    tags TEXT NOT NULL,
    digest VARCHAR(200),
    error TEXT
  );
  CREATE INDEX builds_by_state ON builds (state, repository);
  CREATE INDEX builds_by_repository ON builds (repository, seq);
  CREATE INDEX builds_by_autobuild ON builds (autobuild, seq);
  `,
];
