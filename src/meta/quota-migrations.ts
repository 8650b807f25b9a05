/**
 * Migrations of the 'quota' scope, append-only (see applyMigrations): quotas per namespace (the first component
 * of a repository name), in bytes, as `wharf quota set` writes them. A scope of its own so the registry's
 * schema history stays as it was.
 */
export const quotaMigrations: readonly string[] = [
  `
  CREATE TABLE quotas (
    namespace VARCHAR(255) NOT NULL PRIMARY KEY,
    limit_bytes BIGINT NOT NULL,
    updated_at VARCHAR(40) NOT NULL
  );
  `,
];
