import assert from 'node:assert/strict';
import { test } from 'node:test';
import { openDatabase } from './sqlite-database.ts';
import { SqliteGcIndex } from './sqlite-gc-index.ts';
import { SqliteMetadataStore } from './sqlite-metadata-store.ts';

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const later = '2999-01-01T00:00:00.000Z';

async function fixture() {
  const db = openDatabase(':memory:');
  const meta = new SqliteMetadataStore(db, { now: () => new Date('2020-01-01T00:00:00.000Z') });
  const put = (d: string, extra: { tag?: string; manifests?: string[]; subject?: string } = {}) =>
    meta.putManifest({ repository: 'r', digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, blobs: [], manifests: [], ...extra });
  return { db, meta, index: new SqliteGcIndex(db), put };
}

test('deleteUntagged re-checks tag, parent, subject and age inside its transaction', async () => {
  const { db, meta, index, put } = await fixture();
  await put(digest('a'));
  await put(digest('b'), { manifests: [digest('a')] });
  await put(digest('c'), { subject: digest('b') });
  await meta.setTag('r', 'v1', digest('b'));
  assert.equal(await index.deleteUntagged('r', digest('b'), later), false, 'tagged');
  assert.equal(await index.deleteUntagged('r', digest('a'), later), false, 'listed by an index');
  assert.equal(await index.deleteUntagged('r', digest('c'), later), false, 'its subject lives');
  assert.equal(await index.deleteUntagged('r', digest('c'), '2000-01-01T00:00:00.000Z'), false, 'too recent');
  await meta.deleteTag('r', 'v1');
  assert.equal(await index.deleteUntagged('r', digest('b'), later), true);
  assert.equal(await index.deleteUntagged('r', digest('a'), later), true, 'its parent went, and with it the child row');
  assert.equal(await index.deleteUntagged('r', digest('c'), later), true, 'its subject went');
  assert.deepEqual(await index.manifests(), []);
  assert.equal(await index.isReferenced(digest('a')), false);
  db.close();
});

test('a manifest PUT naming a child that went meanwhile fails inside its transaction', async () => {
  const { db, index, put } = await fixture();
  await put(digest('a'));
  assert.equal(await index.deleteUntagged('r', digest('a'), later), true);
  await assert.rejects(put(digest('b'), { manifests: [digest('a')] }), { code: 'MANIFEST_BLOB_UNKNOWN' });
  assert.deepEqual(await index.manifests(), []);
  db.close();
});

test('isReferenced sees manifest rows in any repository and v1 layers', async () => {
  const { db, index, put } = await fixture();
  await put(digest('a'));
  db.prepare("INSERT INTO v1_images (id, json, layer_digest, complete, created_at) VALUES ('x', '{}', ?, 1, '')").run(digest('e'));
  assert.equal(await index.isReferenced(digest('a')), true);
  assert.equal(await index.isReferenced(digest('e')), true);
  assert.equal(await index.isReferenced(digest('f')), false);
  assert.deepEqual(await index.v1Layers(), [digest('e')]);
  db.close();
});
