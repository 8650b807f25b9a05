/**
 * Migrations of the 'mirror' scope (the pull-through cache's rows), append-only (see applyMigrations). Each row
 * hangs off a registry row and cascades with it, so no deletion path has to know about the cache. Timestamps are
 * ISO 8601 text, as everywhere in the schema: they compare as they sort.
 */
export const mirrorMigrations: readonly string[] = [
  `
  CREATE TABLE mirror_manifests (
    repository VARCHAR(255) NOT NULL,
    digest VARCHAR(200) NOT NULL,
    used_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (repository, digest),
    FOREIGN KEY (repository, digest) REFERENCES manifests (repository, digest) ON DELETE CASCADE
  );
  CREATE INDEX mirror_manifests_by_used ON mirror_manifests (used_at);

  CREATE TABLE mirror_tags (
    repository VARCHAR(255) NOT NULL,
    tag VARCHAR(128) NOT NULL,
    checked_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (repository, tag),
    FOREIGN KEY (repository, tag) REFERENCES tags (repository, tag) ON DELETE CASCADE
  );
  `,
];
