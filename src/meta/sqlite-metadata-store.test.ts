import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import type { DatabaseSync } from 'node:sqlite';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { describeMetadataStore } from './conformance.ts';
import { taggedManifestQuery } from './manifest-rows.ts';
import { openDatabase } from './sqlite-database.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';

describeMetadataStore('SqliteMetadataStore on a file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'wharf-meta-'));
  const path = join(dir, 'meta.db');
  const dbs: DatabaseSync[] = [openDatabase(path)];
  return {
    store: new SqliteMetadataStore(dbs[0]),
    reopen: async () => {
      const db = openDatabase(path);
      dbs.push(db);
      return new SqliteMetadataStore(db);
    },
    cleanup: async () => {
      for (const db of dbs) db.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

describeMetadataStore('SqliteMetadataStore in memory', async () => {
  const db = openDatabase(':memory:');
  return { store: new SqliteMetadataStore(db), cleanup: async () => db.close() };
});

test('migrations apply once and a second store on the same database reuses the schema', () => {
  const db = openDatabase(':memory:');
  try {
    new SqliteMetadataStore(db);
    new SqliteMetadataStore(db);
    const row = db.prepare("SELECT COUNT(*) AS n FROM schema_migrations WHERE scope = 'registry'").get() as { n: number };
    assert.equal(row.n, 1);
  } finally {
    db.close();
  }
});

test('a caller-held transaction on the shared database is joined and rolls back as one', async () => {
  const db = openDatabase(':memory:');
  try {
    const store = new SqliteMetadataStore(db);
    db.exec('BEGIN IMMEDIATE');
    await store.linkBlob('joined', { digest: `sha256:${'a'.repeat(64)}`, size: 1 });
    assert.equal(db.isTransaction, true);
    db.exec('ROLLBACK');
    assert.equal(await store.getRepository('joined'), undefined);
  } finally {
    db.close();
  }
});

test('the injected clock stamps repositories and manifests', async () => {
  const db = openDatabase(':memory:');
  try {
    const store = new SqliteMetadataStore(db, { now: () => new Date('2030-01-02T03:04:05.000Z') });
    await store.putManifest({
      repository: 'clocked',
      digest: `sha256:${'b'.repeat(64)}`,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      size: 1,
      blobs: [],
      manifests: [],
    });
    assert.equal((await store.getRepository('clocked'))?.createdAt, '2030-01-02T03:04:05.000Z');
    assert.equal((await store.getManifest('clocked', `sha256:${'b'.repeat(64)}`))?.createdAt, '2030-01-02T03:04:05.000Z');
  } finally {
    db.close();
  }
});

test('tag lookups use the primary key and referrers use their index', () => {
  const db = openDatabase(':memory:');
  try {
    new SqliteMetadataStore(db);
    const plan = (sql: string) => JSON.stringify(db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all());
    assert.match(plan("SELECT digest FROM tags WHERE repository = 'r' AND tag = 't'"), /USING (PRIMARY KEY|INDEX sqlite_autoindex_tags)/);
    // A manifest GET by tag: two primary-key searches in one statement, no scan.
    const tagged = plan(`SELECT ${taggedManifestQuery} WHERE t.repository = 'r' AND t.tag = 't'`);
    assert.match(tagged, /SEARCH t USING INDEX sqlite_autoindex_tags_1 \(repository=\? AND tag=\?\)/);
    assert.match(tagged, /SEARCH m USING INDEX sqlite_autoindex_manifests_1 \(repository=\? AND digest=\?\)/);
    assert.match(plan("SELECT digest FROM manifests WHERE repository = 'r' AND subject = 's'"), /manifests_by_subject/);
    assert.match(plan("SELECT name FROM repositories WHERE name > '' ORDER BY name LIMIT 5"), /USING (COVERING )?INDEX sqlite_autoindex_repositories/);
  } finally {
    db.close();
  }
});
