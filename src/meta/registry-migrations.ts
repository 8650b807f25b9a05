/**
 * Migrations of the 'registry' scope, append-only (see applyMigrations). Portable to PostgreSQL: VARCHAR/TEXT,
 * BIGINT, composite keys, no AUTOINCREMENT. Listings rely on byte-order comparison of names and tags: SQLite's
 * default BINARY collation; a PostgreSQL driver declares these columns COLLATE "C".
 */
export const registryMigrations: readonly string[] = [
  `
  CREATE TABLE repositories (
    name VARCHAR(255) NOT NULL PRIMARY KEY,
    created_at VARCHAR(40) NOT NULL,
    description TEXT NOT NULL DEFAULT ''
  );

  CREATE TABLE manifests (
    repository VARCHAR(255) NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest VARCHAR(200) NOT NULL,
    media_type VARCHAR(255) NOT NULL,
    size BIGINT NOT NULL,
    artifact_type VARCHAR(255),
    subject VARCHAR(200),
    config VARCHAR(200),
    annotations TEXT,
    created_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (repository, digest)
  );
  CREATE INDEX manifests_by_subject ON manifests (repository, subject);
  CREATE INDEX manifests_by_created ON manifests (repository, created_at);
  CREATE INDEX manifests_by_digest ON manifests (digest);

  CREATE TABLE tags (
    repository VARCHAR(255) NOT NULL,
    tag VARCHAR(128) NOT NULL,
    digest VARCHAR(200) NOT NULL,
    updated_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX tags_by_digest ON tags (repository, digest);

  CREATE TABLE manifest_children (
    repository VARCHAR(255) NOT NULL,
    parent VARCHAR(200) NOT NULL,
    child VARCHAR(200) NOT NULL,
    PRIMARY KEY (repository, parent, child),
    FOREIGN KEY (repository, parent) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX manifest_children_by_child ON manifest_children (repository, child);

  CREATE TABLE blob_links (
    repository VARCHAR(255) NOT NULL REFERENCES repositories (name) ON DELETE CASCADE,
    digest VARCHAR(200) NOT NULL,
    size BIGINT NOT NULL,
    PRIMARY KEY (repository, digest)
  );
  CREATE INDEX blob_links_by_digest ON blob_links (digest);

  CREATE TABLE uploads (
    id VARCHAR(128) NOT NULL PRIMARY KEY,
    repository VARCHAR(255) NOT NULL,
    started_at VARCHAR(40) NOT NULL
  );
  CREATE INDEX uploads_by_repository ON uploads (repository);
  `,
];
