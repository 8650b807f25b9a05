/** Migrations of the 'v1' scope (the legacy index), append-only: the first shipped; later changes are new entries. */
export const v1Migrations: readonly string[] = [
  `CREATE TABLE v1_images (
    id VARCHAR(64) PRIMARY KEY,
    parent VARCHAR(64),
    json TEXT NOT NULL,
    layer_digest VARCHAR(200),
    layer_size BIGINT,
    diff_id VARCHAR(200),
    checksum VARCHAR(200),
    complete INTEGER NOT NULL DEFAULT 0,
    created_at VARCHAR(40) NOT NULL
  );
  CREATE TABLE v1_manifests (
    repository VARCHAR(255) NOT NULL,
    image_id VARCHAR(64) NOT NULL,
    manifest_digest VARCHAR(200) NOT NULL,
    PRIMARY KEY (repository, image_id)
  );
  CREATE INDEX v1_manifests_digest ON v1_manifests(repository, manifest_digest);
  CREATE TABLE v1_repository_images (
    repository VARCHAR(255) NOT NULL,
    image_id VARCHAR(64) NOT NULL,
    checksum VARCHAR(200),
    PRIMARY KEY (repository, image_id)
  );`,
  `ALTER TABLE v1_images ADD COLUMN checksums TEXT;
  CREATE TABLE v1_image_holders (
    repository VARCHAR(255) NOT NULL,
    image_id VARCHAR(64) NOT NULL,
    PRIMARY KEY (repository, image_id)
  );
  CREATE INDEX v1_image_holders_image ON v1_image_holders(image_id);
  CREATE INDEX v1_manifests_by_digest ON v1_manifests(manifest_digest);`,
];
