import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GcIndex } from './gc-index.ts';
import type { MetaTransaction } from './meta-transaction.ts';
import type { MetadataStore, PutManifestInput } from './metadata-store.ts';
import type { MirrorStore } from './mirror-store.ts';

/** The stores of one fresh backend the mirror suite uses (a StoresFixture is one). */
export interface MirrorFixture {
  meta: MetadataStore;
  mirror: MirrorStore;
  gc: GcIndex;
  transaction: MetaTransaction;
}

type WithMirror = (fn: (f: MirrorFixture) => Promise<void>) => () => Promise<void>;

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const time = (day: number) => new Date(Date.UTC(2030, 0, day));
const manifest = (repository: string, c: string, extra: Partial<PutManifestInput> = {}): PutManifestInput => ({
  repository,
  digest: digest(c),
  mediaType: 'application/vnd.oci.image.manifest.v1+json',
  size: 100,
  blobs: [],
  manifests: [],
  ...extra,
});

/** MirrorStore's contract, and the cached manifest writes it relies on, for one engine. */
export function describeMirrorStore(withStores: WithMirror): void {
  test('uses are recorded for stored manifests only, never move back, and list least recently used first', withStores(async ({ meta, mirror }) => {
    for (const c of ['a', 'b', 'c']) await meta.putManifest(manifest('hub/app', c));
    await mirror.markCached('hub/app', digest('a'), time(5));
    await mirror.markCached('hub/app', digest('b'), time(1));
    await mirror.markUsed('hub/app', digest('b'), time(2));
    await mirror.markCached('hub/app', digest('c'), time(3));
    await mirror.markUsed('hub/app', digest('c'), time(1));
    await mirror.markCached('hub/app', digest('c'), time(1));
    await mirror.markCached('hub/app', digest('d'), time(1));
    await mirror.markCached('hub/other', digest('a'), time(1));
    assert.deepEqual(await mirror.unusedSince(time(4), 10), [
      { repository: 'hub/app', digest: digest('b') },
      { repository: 'hub/app', digest: digest('c') },
    ]);
    assert.deepEqual(await mirror.unusedSince(time(4), 1), [{ repository: 'hub/app', digest: digest('b') }]);
    assert.deepEqual(await mirror.unusedSince(time(2), 10), [], 'strictly before the cutoff');
    await mirror.markUsed('hub/app', digest('b'), time(9));
    assert.deepEqual(await mirror.unusedSince(time(4), 10), [{ repository: 'hub/app', digest: digest('c') }]);
    await mirror.forget('hub/app', digest('c'));
    assert.deepEqual(await mirror.unusedSince(time(10), 10), [
      { repository: 'hub/app', digest: digest('a') },
      { repository: 'hub/app', digest: digest('b') },
    ]);
    assert.ok(await meta.getManifest('hub/app', digest('c')), 'forget keeps the manifest');
  }));

  test('a pull of a pushed manifest (no use row) records nothing: expiry never sees it', withStores(async ({ meta, mirror }) => {
    await meta.putManifest(manifest('hub/app', 'a'));
    await mirror.markUsed('hub/app', digest('a'), time(1));
    assert.deepEqual(await mirror.unusedSince(time(10), 10), []);
  }));

  test('tag checks are kept for existing tags, never move back, stay when the tag moves and go with it', withStores(async ({ meta, mirror }) => {
    await meta.putManifest(manifest('hub/app', 'a', { tag: 'latest' }));
    await meta.putManifest(manifest('hub/app', 'b'));
    assert.equal(await mirror.tagCheckedAt('hub/app', 'latest'), undefined);
    await mirror.markTagChecked('hub/app', 'latest', time(3));
    await mirror.markTagChecked('hub/app', 'latest', time(2));
    assert.deepEqual(await mirror.tagCheckedAt('hub/app', 'latest'), time(3));
    await mirror.markTagChecked('hub/app', 'missing', time(3));
    assert.equal(await mirror.tagCheckedAt('hub/app', 'missing'), undefined);
    await meta.setTag('hub/app', 'latest', digest('b'));
    assert.deepEqual(await mirror.tagCheckedAt('hub/app', 'latest'), time(3));
    await meta.deleteTag('hub/app', 'latest');
    assert.equal(await mirror.tagCheckedAt('hub/app', 'latest'), undefined);
    await meta.putManifest(manifest('hub/app', 'b', { tag: 'latest' }));
    assert.equal(await mirror.tagCheckedAt('hub/app', 'latest'), undefined, 'a tag written again starts unchecked');
  }));

  test('the rows go with the manifest, whichever path deletes it', withStores(async ({ meta, mirror, gc }) => {
    for (const c of ['a', 'b']) await meta.putManifest(manifest('hub/app', c, { tag: c === 'a' ? 'latest' : undefined }));
    await meta.putManifest(manifest('hub/gone', 'c', { tag: 'v1' }));
    for (const [repository, c] of [['hub/app', 'a'], ['hub/app', 'b'], ['hub/gone', 'c']]) await mirror.markCached(repository, digest(c), time(1));
    await mirror.markTagChecked('hub/app', 'latest', time(1));
    await mirror.markTagChecked('hub/gone', 'v1', time(1));
    assert.equal(await meta.deleteManifest('hub/app', digest('a')), true);
    assert.equal(await mirror.tagCheckedAt('hub/app', 'latest'), undefined);
    assert.equal(await gc.deleteUntagged('hub/app', digest('b'), time(100).toISOString()), true);
    await meta.deleteRepository('hub/gone');
    assert.equal(await mirror.tagCheckedAt('hub/gone', 'v1'), undefined);
    assert.deepEqual(await mirror.unusedSince(time(100), 10), []);
  }));

  test('a cached index is written before its children are stored, and they are recorded; a pushed one is refused', withStores(async ({ meta, gc }) => {
    const index = manifest('hub/app', 'i', { mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [digest('a'), digest('b')], tag: 'latest' });
    await assert.rejects(meta.putManifest(index), (err: { code?: string }) => err.code === 'MANIFEST_BLOB_UNKNOWN');
    await meta.putManifest({ ...index, cached: true });
    assert.equal(await meta.resolveTag('hub/app', 'latest'), digest('i'));
    const children = (await gc.children()).filter((c) => c.parent === digest('i')).map((c) => c.child).sort();
    assert.deepEqual(children, [digest('a'), digest('b')]);
  }));

  test('a use is written in the transaction of the manifest it marks, and rolled back with it', withStores(async ({ meta, mirror, transaction }) => {
    await assert.rejects(transaction(async () => {
      await meta.putManifest(manifest('hub/app', 'a'));
      await mirror.markCached('hub/app', digest('a'), time(1));
      assert.deepEqual(await mirror.unusedSince(time(2), 10), [{ repository: 'hub/app', digest: digest('a') }]);
      throw new Error('rolled back');
    }), /rolled back/);
    assert.equal(await meta.getManifest('hub/app', digest('a')), undefined);
    assert.deepEqual(await mirror.unusedSince(time(2), 10), []);
  }));
}
