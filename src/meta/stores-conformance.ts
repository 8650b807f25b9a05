import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeActivityStore } from './activity-conformance.ts';
import { describeBuildStore } from './build-conformance.ts';
import { describeMirrorStore } from './mirror-conformance.ts';
import { describeSessionStore } from './session-conformance.ts';
import type { MetaStores } from './meta-stores.ts';
import type { MetadataStore } from './metadata-store.ts';
import type { UserRecord } from './user-store.ts';

/** Every store of one fresh backend (one database), as openMeta composes them. */
export interface StoresFixture extends Pick<MetaStores, 'meta' | 'users' | 'v1' | 'gc' | 'retention' | 'mirror' | 'activity' | 'gcRuns' | 'builds' | 'sessions' | 'transaction'> {
  /** Runs SQL with literal values only (a case that needs a row no store method writes). */
  exec(sql: string): Promise<void>;
  cleanup(): Promise<void>;
}

type Make = () => Promise<StoresFixture>;

/** The suites of the user, v1, GC, retention and mirror stores and of the cross-store transaction, for one engine. */
export function describeStores(name: string, make: Make): void {
  const withStores = (fn: (f: StoresFixture) => Promise<void>) => async () => {
    const fixture = await make();
    try {
      await fn(fixture);
    } finally {
      await fixture.cleanup();
    }
  };
  describe(`UserStore conformance: ${name}`, () => describeUsers(withStores));
  describe(`V1Store conformance: ${name}`, () => describeV1(withStores));
  describe(`GcIndex and RetentionIndex conformance: ${name}`, () => describeGc(withStores));
  describe(`MetaTransaction conformance: ${name}`, () => describeTransaction(withStores));
  describe(`MirrorStore conformance: ${name}`, () => describeMirrorStore(withStores));
  describe(`SessionStore conformance: ${name}`, () => describeSessionStore(withStores));
  describe(`ActivityStore and GcRunStore conformance: ${name}`, () => describeActivityStore(withStores));
  describe(`BuildStore conformance: ${name}`, () => describeBuildStore(withStores));
}

type WithStores = (fn: (f: StoresFixture) => Promise<void>) => () => Promise<void>;

const user = (name: string, extra: Partial<UserRecord> = {}): UserRecord => ({ name, passwordHash: `$2b$04$${name}`, admin: false, email: '', createdAt: '2030-01-01T00:00:00.000Z', disabled: false, ...extra });
const isKind = (kind: string) => (err: { kind?: string }) => err.kind === kind;

function describeUsers(withStores: WithStores): void {
  test('users are added once, read, updated field by field, listed by name and deleted with their tokens', withStores(async ({ users: store }) => {
    await store.addUser(user('bob', { admin: true, email: 'bob@example.com' }));
    await store.addUser(user('alice'));
    await assert.rejects(store.addUser(user('alice')), isKind('already-exists'));
    assert.deepEqual(await store.getUser('bob'), user('bob', { admin: true, email: 'bob@example.com' }));
    assert.equal(await store.getUser('carol'), undefined);
    await store.updateUser('bob', { email: 'new@example.com' });
    await store.updateUser('bob', { passwordHash: 'h2' });
    assert.deepEqual(await store.getUser('bob'), user('bob', { admin: true, email: 'new@example.com', passwordHash: 'h2' }));
    await store.updateUser('bob', { admin: false });
    assert.equal((await store.getUser('bob'))?.admin, false);
    await store.updateUser('bob', { disabled: true });
    assert.deepEqual(await store.getUser('bob'), user('bob', { email: 'new@example.com', passwordHash: 'h2', disabled: true }));
    assert.deepEqual((await store.listUsers()).map((u) => [u.name, u.disabled]), [['alice', false], ['bob', true]]);
    await store.updateUser('bob', { email: 'again@example.com' });
    assert.equal((await store.getUser('bob'))?.disabled, true, 'other changes keep the flag');
    await store.updateUser('bob', { disabled: false });
    assert.equal((await store.getUser('bob'))?.disabled, false);
    await assert.rejects(store.updateUser('carol', { email: 'x' }), isKind('not-found'));
    assert.deepEqual((await store.listUsers()).map((u) => u.name), ['alice', 'bob']);
    await store.addToken({ id: 't1', user: 'bob', secretHash: 'ab', scopes: ['repository:bob/*:pull'], description: 'ci', createdAt: '2030-01-01T00:00:00.000Z' });
    assert.equal(await store.deleteUser('bob'), true);
    assert.equal(await store.deleteUser('bob'), false);
    assert.equal(await store.getToken('t1'), undefined);
  }));

  test('tokens belong to existing users, list per user, and revoke once', withStores(async ({ users: store }) => {
    await store.addUser(user('alice'));
    await assert.rejects(store.addToken({ id: 'x', user: 'ghost', secretHash: '', scopes: [], description: '', createdAt: '' }), isKind('not-found'));
    for (const id of ['t2', 't1']) await store.addToken({ id, user: 'alice', secretHash: 'ff', scopes: ['repository:a:pull'], description: id, createdAt: '2030-01-01T00:00:00.000Z' });
    assert.deepEqual((await store.listTokens('alice')).map((t) => t.id), ['t1', 't2']);
    assert.deepEqual((await store.listTokens()).map((t) => t.id), ['t1', 't2']);
    assert.deepEqual(await store.listTokens('nobody'), []);
    assert.equal(await store.revokeToken('t1', '2030-01-02T00:00:00.000Z'), true);
    assert.equal(await store.revokeToken('t1', '2030-01-03T00:00:00.000Z'), false, 'a revoked token stays revoked at its first date');
    assert.equal((await store.getToken('t1'))?.revokedAt, '2030-01-02T00:00:00.000Z');
    assert.equal((await store.getToken('t2'))?.revokedAt, undefined);
    assert.deepEqual((await store.getToken('t2'))?.scopes, ['repository:a:pull']);
    assert.equal(await store.revokeToken('nope', 'x'), false);
  }));

  test('two admins adding the same user at once: one wins, the other is already-exists', withStores(async ({ users: store }) => {
    const results = await Promise.allSettled([store.addUser(user('dup', { email: 'a' })), store.addUser(user('dup', { email: 'b' }))]);
    assert.deepEqual(results.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    assert.equal((await store.listUsers()).length, 1);
  }));
}

const id = (c: string) => c.repeat(64);
const digest = (c: string) => `sha256:${c.repeat(64)}`;
const at = '2014-06-01T00:00:00Z';
const layer = { digest: digest('1'), size: 10, diffId: digest('2'), checksum: digest('3'), checksums: [digest('3'), `tarsum+${digest('4')}`] };
const derived = [
  { id: id('d'), json: '{"id":"d"}', layerDigest: digest('5'), layerSize: 5, diffId: digest('6') },
  { id: id('e'), parent: id('d'), json: '{"id":"e"}', layerDigest: digest('7'), layerSize: 7, diffId: digest('8') },
];

function describeV1(withStores: WithStores): void {
  test('an image json is stored incomplete, replaced while incomplete, and never once complete', withStores(async ({ v1: store }) => {
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
  }));

  test('a json replaced while incomplete loses the layer it had', withStores(async ({ v1: store }) => {
    await store.putImageJson({ id: id('a'), json: '{"v":1}', createdAt: at });
    assert.equal(await store.setLayer(id('a'), '{"v":1}', layer, false), true);
    await store.putImageJson({ id: id('a'), json: '{"v":2}', createdAt: '2015-01-01T00:00:00Z' });
    assert.deepEqual(await store.getImage(id('a')), { id: id('a'), json: '{"v":2}', checksums: [], complete: false, createdAt: '2015-01-01T00:00:00Z' });
  }));

  test('ancestry is newest first, empty for an unknown id, and stops at a cycle', withStores(async ({ v1: store, exec }) => {
    await store.putImageJson({ id: id('a'), json: '{}', createdAt: at });
    await store.putImageJson({ id: id('b'), parent: id('a'), json: '{}', createdAt: at });
    await store.putImageJson({ id: id('c'), parent: id('b'), json: '{}', createdAt: at });
    assert.deepEqual(await store.ancestry(id('c')), [id('c'), id('b'), id('a')]);
    assert.deepEqual(await store.ancestry(id('f')), []);
    await exec(`UPDATE v1_images SET parent = '${id('c')}' WHERE id = '${id('a')}'`);
    assert.deepEqual(await store.ancestry(id('c')), [id('c'), id('b'), id('a')]);
  }));

  test('derived images are inserted once, complete, and held; bridges map manifests to images in any repository', withStores(async ({ v1: store }) => {
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
  }));

  test("a repository's image list merges checksums and never loses one", withStores(async ({ v1: store }) => {
    await store.setRepositoryImages('foo/bar', [{ id: id('a') }, { id: id('b') }]);
    await store.setRepositoryImages('foo/bar', [{ id: id('a'), checksum: 'tarsum+sha256:x' }]);
    await store.setRepositoryImages('foo/bar', [{ id: id('a') }]);
    assert.deepEqual(await store.repositoryImages('foo/bar'), [{ id: id('a'), checksum: 'tarsum+sha256:x' }, { id: id('b') }]);
    assert.deepEqual(await store.repositoryImages('other/repo'), []);
  }));
}

const later = '2999-01-01T00:00:00.000Z';

function describeGc(withStores: WithStores): void {
  const put = (meta: MetadataStore, d: string, extra: { tag?: string; manifests?: string[]; subject?: string } = {}) =>
    meta.putManifest({ repository: 'r', digest: d, mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, blobs: [], manifests: [], ...extra });

  test('deleteUntagged re-checks tag, parent, subject and age inside its transaction', withStores(async ({ meta, gc: index }) => {
    await put(meta, digest('a'));
    await put(meta, digest('b'), { manifests: [digest('a')] });
    await put(meta, digest('c'), { subject: digest('b') });
    await meta.setTag('r', 'v1', digest('b'));
    assert.deepEqual((await index.manifests()).map((m) => [m.digest, m.tagged, m.subject ?? null]), [[digest('a'), false, null], [digest('b'), true, null], [digest('c'), false, digest('b')]]);
    assert.deepEqual(await index.children(), [{ repository: 'r', parent: digest('b'), child: digest('a') }]);
    assert.equal(await index.deleteUntagged('r', digest('b'), later), false, 'tagged');
    assert.equal(await index.deleteUntagged('r', digest('a'), later), false, 'listed by an index');
    assert.equal(await index.deleteUntagged('r', digest('c'), later), false, 'its subject lives');
    assert.equal(await index.deleteUntagged('r', digest('c'), '2000-01-01T00:00:00.000Z'), false, 'too recent');
    assert.equal(await index.deleteUntagged('r', digest('f'), later), false, 'absent');
    await meta.deleteTag('r', 'v1');
    assert.equal(await index.deleteUntagged('r', digest('b'), later), true);
    assert.equal(await index.deleteUntagged('r', digest('a'), later), true, 'its parent went, and with it the child row');
    assert.equal(await index.deleteUntagged('r', digest('c'), later), true, 'its subject went');
    assert.deepEqual(await index.manifests(), []);
    assert.equal(await index.isReferenced(digest('a')), false);
  }));

  test('a manifest PUT naming a child that went meanwhile fails inside its transaction', withStores(async ({ meta, gc: index }) => {
    await put(meta, digest('a'));
    assert.equal(await index.deleteUntagged('r', digest('a'), later), true);
    await assert.rejects(put(meta, digest('b'), { manifests: [digest('a')] }), { code: 'MANIFEST_BLOB_UNKNOWN' });
    assert.deepEqual(await index.manifests(), []);
  }));

  test('deleteUntagged racing setTag and an index PUT: a manifest that ends up referenced is never deleted', withStores(async ({ meta, gc: index }) => {
    for (let round = 0; round < 10; round++) {
      const child = digest(`${round}`);
      await put(meta, child);
      const [, deleted] = await Promise.all([
        round % 2 ? meta.setTag('r', `t${round}`, child).catch(() => undefined) : put(meta, digest(`i${round}`), { manifests: [child] }).catch(() => undefined),
        index.deleteUntagged('r', child, later),
      ]);
      const referenced = (await meta.tagsOf('r', child)).length > 0 || (await index.children()).some((c) => c.child === child);
      assert.equal(deleted ? false : true, (await meta.getManifest('r', child)) !== undefined);
      if (referenced) assert.equal(deleted, false, `round ${round}: a referenced manifest was deleted`);
    }
  }));

  test('isReferenced sees manifest rows in any repository and v1 layers', withStores(async ({ meta, v1, gc: index }) => {
    await put(meta, digest('a'));
    await v1.putDerivedImages('old/repo', [{ id: id('x'), json: '{}', layerDigest: digest('e'), layerSize: 1, diffId: digest('9') }], at);
    assert.equal(await index.isReferenced(digest('a')), true);
    assert.equal(await index.isReferenced(digest('e')), true);
    assert.equal(await index.isReferenced(digest('f')), false);
    assert.deepEqual(await index.v1Layers(), [digest('e')]);
  }));

  test('retention lists every tag and deletes one only while it still points where the plan saw it', withStores(async ({ meta, retention }) => {
    await put(meta, digest('a'), { tag: 'old' });
    await put(meta, digest('b'), { tag: 'new' });
    const tags = await retention.tags();
    assert.deepEqual(tags.map((t) => [t.repository, t.tag, t.digest]), [['r', 'new', digest('b')], ['r', 'old', digest('a')]]);
    assert.ok(tags.every((t) => !Number.isNaN(Date.parse(t.updatedAt))));
    await meta.setTag('r', 'old', digest('b'));
    assert.equal(await retention.deleteTagAt('r', 'old', digest('a')), false, 'moved since the plan');
    assert.equal(await retention.deleteTagAt('r', 'old', digest('b')), true);
    assert.deepEqual(await meta.listTags('r'), ['new']);
  }));
}

function describeTransaction(withStores: WithStores): void {
  test('writes to the registry and v1 stores inside one transaction commit together', withStores(async ({ meta, v1, transaction }) => {
    const result = await transaction(async () => {
      await meta.linkBlob('v1/repo', { digest: digest('5'), size: 5 });
      await v1.putDerivedImages('v1/repo', derived, at);
      await v1.recordBridge('v1/repo', { imageId: id('e'), manifestDigest: digest('9'), chain: [id('d'), id('e')] });
      return 'done';
    });
    assert.equal(result, 'done');
    assert.deepEqual(await meta.getBlobLink('v1/repo', digest('5')), { digest: digest('5'), size: 5 });
    assert.equal(await v1.manifestForImage('v1/repo', id('e')), digest('9'));
  }));

  test('a failure inside a transaction leaves no store changed, nested store transactions included', withStores(async ({ meta, v1, users, transaction }) => {
    await meta.ensureRepository('kept');
    await assert.rejects(
      transaction(async () => {
        await meta.putManifest({ repository: 'gone', digest: digest('a'), mediaType: 'application/vnd.oci.image.manifest.v1+json', size: 1, blobs: [{ digest: digest('5'), size: 5 }], manifests: [], tag: 't' });
        await v1.putDerivedImages('gone', derived, at);
        await meta.deleteRepository('kept');
        await users.addUser(user('ghost'));
        throw new Error('late failure');
      }),
      /late failure/,
    );
    assert.deepEqual(await meta.listRepositories(), ['kept']);
    assert.equal(await v1.getImage(id('d')), undefined);
    assert.deepEqual(await v1.holders(id('d')), []);
    assert.equal(await users.getUser('ghost'), undefined);
  }));

  test('a store call made beside an open transaction is not rolled back with it', withStores(async ({ meta, transaction }) => {
    const failing = transaction(async () => {
      await meta.ensureRepository('inside');
      throw new Error('rolled back');
    });
    const beside = meta.ensureRepository('beside');
    await assert.rejects(failing, /rolled back/);
    await beside;
    assert.deepEqual(await meta.listRepositories(), ['beside']);
  }));
}
