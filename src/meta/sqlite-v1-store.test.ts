import assert from 'node:assert/strict';
import type { DatabaseSync } from 'node:sqlite';
import { beforeEach, test } from 'node:test';
import { applyMigrations, openDatabase } from './sqlite-database.ts';
import { SqliteV1Store, v1Migrations } from './sqlite-v1-store.ts';

const id = (c: string) => c.repeat(64);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const at = '2014-06-01T00:00:00Z';
const layer = { digest: digest('1'), size: 10, diffId: digest('2'), checksum: digest('3'), checksums: [digest('3'), `tarsum+${digest('4')}`] };

let db: DatabaseSync;
let store: SqliteV1Store;
beforeEach(() => {
  db = openDatabase(':memory:');
  store = new SqliteV1Store(db);
});

test('an image json is stored incomplete, replaced while incomplete, and never once complete', async () => {
  await store.putImageJson({ id: id('a'), json: '{"v":1}', createdAt: at }, 'foo/bar');
  assert.deepEqual(await store.getImage(id('a')), { id: id('a'), json: '{"v":1}', checksums: [], complete: false, createdAt: at });
  assert.deepEqual(await store.holders(id('a')), ['foo/bar']);
  await store.putImageJson({ id: id('a'), json: '{"v":2}', createdAt: at });
  assert.equal((await store.getImage(id('a')))?.json, '{"v":2}');
  assert.equal(await store.setLayer(id('a'), '{"v":1}', layer, false), false, 'the json changed under the upload');
  assert.equal(await store.markComplete(id('a')), false, 'no layer yet');
  assert.equal(await store.setLayer(id('a'), '{"v":2}', layer, false), true);
  assert.equal(await store.markComplete(id('a')), true);
  assert.equal(await store.markComplete(id('a')), false, 'once');
  const image = await store.getImage(id('a'));
  assert.deepEqual(image, { id: id('a'), json: '{"v":2}', layerDigest: digest('1'), layerSize: 10, diffId: digest('2'), checksum: digest('3'), checksums: layer.checksums, complete: true, createdAt: at });
  await assert.rejects(store.putImageJson({ id: id('a'), json: '{}', createdAt: at }), /^Fault: Image already exists$/);
  assert.equal(await store.setLayer(id('a'), '{"v":2}', layer, true), false, 'a complete image keeps its layer');
});

test('ancestry is newest first, empty for an unknown id, and stops at a cycle', async () => {
  await store.putImageJson({ id: id('a'), json: '{}', createdAt: at });
  await store.putImageJson({ id: id('b'), parent: id('a'), json: '{}', createdAt: at });
  await store.putImageJson({ id: id('c'), parent: id('b'), json: '{}', createdAt: at });
  assert.deepEqual(await store.ancestry(id('c')), [id('c'), id('b'), id('a')]);
  assert.deepEqual(await store.ancestry(id('f')), []);
  db.prepare('UPDATE v1_images SET parent = ? WHERE id = ?').run(id('c'), id('a'));
  assert.deepEqual(await store.ancestry(id('c')), [id('c'), id('b'), id('a')]);
});

test('derived images are inserted once, complete, and held; bridges map manifests to images in any repository', async () => {
  const derived = [
    { id: id('d'), json: '{"id":"d"}', layerDigest: digest('5'), layerSize: 5, diffId: digest('6') },
    { id: id('e'), parent: id('d'), json: '{"id":"e"}', layerDigest: digest('7'), layerSize: 7, diffId: digest('8') },
  ];
  await store.putDerivedImages('v2/app', derived, at);
  await store.putDerivedImages('v2/copy', derived, at);
  assert.equal((await store.getImage(id('e')))?.complete, true);
  assert.deepEqual(await store.holders(id('d')), ['v2/app', 'v2/copy']);
  await store.recordBridge('v2/app', { imageId: id('e'), manifestDigest: digest('9'), chain: [id('d'), id('e')] });
  assert.equal(await store.imageForManifest(digest('9')), id('e'));
  assert.equal(await store.manifestForImage('v2/app', id('e')), digest('9'));
  assert.equal(await store.manifestForImage('v2/copy', id('e')), undefined, 'per repository');
  await store.hold('third/repo', [id('d')]);
  assert.deepEqual(await store.holders(id('d')), ['third/repo', 'v2/app', 'v2/copy']);
  await store.deleteRepository('v2/app');
  assert.deepEqual(await store.holders(id('d')), ['third/repo', 'v2/copy']);
  assert.equal(await store.imageForManifest(digest('9')), undefined);
  assert.equal((await store.getImage(id('d')))?.complete, true, 'images stay');
});

test("a repository's image list merges checksums and never loses one", async () => {
  await store.setRepositoryImages('foo/bar', [{ id: id('a') }, { id: id('b') }]);
  await store.setRepositoryImages('foo/bar', [{ id: id('a'), checksum: 'tarsum+sha256:x' }]);
  await store.setRepositoryImages('foo/bar', [{ id: id('a') }]);
  assert.deepEqual(await store.repositoryImages('foo/bar'), [{ id: id('a'), checksum: 'tarsum+sha256:x' }, { id: id('b') }]);
  assert.deepEqual(await store.repositoryImages('other/repo'), []);
});

test('rows written before the second migration read back with their one checksum', async () => {
  const old = openDatabase(':memory:');
  applyMigrations(old, 'v1', v1Migrations.slice(0, 1));
  old.prepare("INSERT INTO v1_images (id, json, layer_digest, layer_size, diff_id, checksum, complete, created_at) VALUES (?, '{}', ?, 1, ?, ?, 1, ?)").run(id('a'), digest('1'), digest('2'), digest('3'), at);
  const upgraded = new SqliteV1Store(old);
  assert.deepEqual((await upgraded.getImage(id('a')))?.checksums, [digest('3')]);
  assert.deepEqual(await upgraded.holders(id('a')), []);
});
