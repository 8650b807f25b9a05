import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, test } from 'node:test';
import { isFault, type FaultKind } from '../base/fault.ts';
import type { ManifestRecord, MetadataStore, PutManifestInput } from './metadata-store.ts';

export interface MetadataStoreFixture {
  store: MetadataStore;
  cleanup(): Promise<void>;
  /** A new instance on the same backing database (a restart), for persistent implementations. */
  reopen?(): Promise<MetadataStore>;
}

const imageManifest = 'application/vnd.oci.image.manifest.v1+json';
const imageIndex = 'application/vnd.oci.image.index.v1+json';

/** The one suite every MetadataStore (SQLite, PostgreSQL, wrappers) passes; each case gets a fresh store. */
export function describeMetadataStore(name: string, make: () => Promise<MetadataStoreFixture>): void {
  const withStore = (fn: (store: MetadataStore, fixture: MetadataStoreFixture) => Promise<void>) => async () => {
    const fixture = await make();
    try {
      await fn(fixture.store, fixture);
    } finally {
      await fixture.store.close();
      await fixture.cleanup();
    }
  };

  describe(`MetadataStore conformance: ${name}`, () => {
    describeRepositories(withStore);
    describeBlobLinks(withStore);
    describeManifests(withStore);
    describeTags(withStore);
    describeReferrers(withStore);
    describeUploads(withStore);
    describeDurability(withStore);
  });
}

type WithStore = (fn: (store: MetadataStore, fixture: MetadataStoreFixture) => Promise<void>) => () => Promise<void>;

function describeRepositories(withStore: WithStore): void {
  test('ensureRepository creates a repository once', withStore(async (store) => {
    assert.equal(await store.getRepository('library/busybox'), undefined);
    await store.ensureRepository('library/busybox');
    const info = await store.getRepository('library/busybox');
    assert.equal(info?.name, 'library/busybox');
    assert.equal(info?.description, '');
    assert.ok(!Number.isNaN(Date.parse(info?.createdAt ?? '')), 'createdAt is a timestamp');
    await store.ensureRepository('library/busybox');
    assert.deepEqual(await store.getRepository('library/busybox'), info, 'idempotent');
    assert.deepEqual(await store.listRepositories(), ['library/busybox']);
  }));

  test('a repository description can be set, and setting it on an absent repository creates it', withStore(async (store) => {
    await store.ensureRepository('described');
    await store.setRepositoryDescription('described', 'a tiny image');
    assert.equal((await store.getRepository('described'))?.description, 'a tiny image');
    await store.setRepositoryDescription('fresh', 'new');
    assert.equal((await store.getRepository('fresh'))?.description, 'new');
  }));

  test('the catalog is sorted in byte order and paginates with n and last', withStore(async (store) => {
    const names = ['b', 'a/b', 'a', 'a-b', 'a_b', 'ab', 'z/y/x', 'a/b/c'];
    for (const name of names) await store.ensureRepository(name);
    const sorted = [...names].sort(byteOrder);
    assert.deepEqual(await store.listRepositories(), sorted);
    assert.deepEqual(await store.listRepositories({}), sorted);
    assert.deepEqual(await store.listRepositories({ n: 3 }), sorted.slice(0, 3));
    assert.deepEqual(await store.listRepositories({ n: 3, last: sorted[2] }), sorted.slice(3, 6));
    assert.deepEqual(await store.listRepositories({ last: sorted[5] }), sorted.slice(6));
    assert.deepEqual(await store.listRepositories({ n: 100 }), sorted, 'n beyond the count');
    assert.deepEqual(await store.listRepositories({ n: 0 }), []);
    assert.deepEqual(await store.listRepositories({ last: 'zzz' }), [], 'last after every name');
    assert.deepEqual(await store.listRepositories({ last: 'a0' }), sorted.filter((n) => byteOrder(n, 'a0') > 0), 'last need not exist');
    assert.deepEqual(await pages((page) => store.listRepositories(page), 2), sorted, 'walking pages of two');
    await expectFault(store.listRepositories({ n: -1 }), 'invalid-argument');
  }));

  test('searchRepositories finds names holding the query, in byte order, paginated', withStore(async (store) => {
    const names = ['library/busybox', 'team/busybox-musl', 'team/alpine', 'a_b', 'a-b', 'axb', 'a%b', 'busy', 'x/abusyb'];
    // '%' is no repository name character, but the store takes any name it is given and must not read it as LIKE.
    for (const name of names) await store.ensureRepository(name);
    const holding = (query: string) => [...names].filter((n) => n.toLowerCase().includes(query.toLowerCase())).sort(byteOrder);
    assert.deepEqual(await store.searchRepositories(''), [...names].sort(byteOrder), 'empty: every name');
    assert.deepEqual(await store.searchRepositories('busy'), holding('busy'));
    assert.deepEqual(await store.searchRepositories('BusyBox'), holding('busybox'), 'case-insensitive');
    assert.deepEqual(await store.searchRepositories('a_b'), ['a_b'], '_ is no wildcard');
    assert.deepEqual(await store.searchRepositories('a%b'), ['a%b'], '% is no wildcard');
    assert.deepEqual(await store.searchRepositories('%'), ['a%b']);
    assert.deepEqual(await store.searchRepositories('\\'), [], 'the escape character itself');
    assert.deepEqual(await store.searchRepositories('a\0b'), [], 'a NUL matches nothing');
    assert.deepEqual(await store.searchRepositories('nothing'), []);
    assert.deepEqual(await store.searchRepositories('busy', { n: 2 }), holding('busy').slice(0, 2));
    assert.deepEqual(await store.searchRepositories('busy', { n: 2, last: holding('busy')[1] }), holding('busy').slice(2, 4));
    assert.deepEqual(await store.searchRepositories('busy', { n: 0 }), []);
    assert.deepEqual(await pages((page) => store.searchRepositories('b', page), 2), holding('b'), 'walking pages of two');
    await expectFault(store.searchRepositories('busy', { n: -1 }), 'invalid-argument');
  }));

  test('deleteRepository removes the repository with its manifests, tags, links and uploads only', withStore(async (store) => {
    const gone = manifestInput('doomed', 1, { tag: 'v1' });
    await store.putManifest(gone);
    await store.linkBlob('doomed', { digest: fakeDigest('loose'), size: 7 });
    await store.createUpload({ id: 'up-doomed', repository: 'doomed', startedAt: new Date().toISOString() });
    const kept = manifestInput('kept', 1, { tag: 'v1' });
    await store.putManifest(kept);
    await store.createUpload({ id: 'up-kept', repository: 'kept', startedAt: new Date().toISOString() });

    await store.deleteRepository('doomed');
    assert.equal(await store.getRepository('doomed'), undefined);
    assert.deepEqual(await store.listRepositories(), ['kept']);
    assert.equal(await store.getManifest('doomed', gone.digest), undefined);
    assert.deepEqual(await store.listManifests('doomed'), []);
    assert.deepEqual(await store.listTags('doomed'), []);
    assert.equal(await store.resolveTag('doomed', 'v1'), undefined);
    assert.equal(await store.getBlobLink('doomed', fakeDigest('loose')), undefined);
    assert.equal(await store.getUpload('up-doomed'), undefined);

    assert.equal(await store.resolveTag('kept', 'v1'), kept.digest);
    assert.ok(await store.getUpload('up-kept'));
    assert.ok(await store.isBlobReferenced(kept.blobs[0].digest), 'same-content blobs of other repositories stay linked');
    await store.deleteRepository('never-existed');
  }));
}

function describeBlobLinks(withStore: WithStore): void {
  test('blob links are per repository and make the blob referenced', withStore(async (store) => {
    const digest = fakeDigest('layer');
    assert.equal(await store.isBlobReferenced(digest), false);
    await store.linkBlob('one', { digest, size: 42 });
    assert.ok(await store.getRepository('one'), 'linking creates the repository');
    assert.deepEqual(await store.getBlobLink('one', digest), { digest, size: 42 });
    assert.equal(await store.getBlobLink('two', digest), undefined);
    await store.linkBlob('one', { digest, size: 42 });
    await store.linkBlob('two', { digest, size: 42 });
    assert.equal(await store.isBlobReferenced(digest), true);

    assert.equal(await store.unlinkBlob('one', digest), true);
    assert.equal(await store.unlinkBlob('one', digest), false);
    assert.equal(await store.getBlobLink('one', digest), undefined);
    assert.equal(await store.isBlobReferenced(digest), true, 'still linked by two');
    assert.equal(await store.unlinkBlob('two', digest), true);
    assert.equal(await store.isBlobReferenced(digest), false);
  }));
}

function describeManifests(withStore: WithStore): void {
  test('putManifest stores the manifest with its tag and links its blobs', withStore(async (store) => {
    const input = manifestInput('app', 1, {
      tag: 'latest',
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.opencontainers.image.title': 'app', 'x.y': 'z' },
    });
    await store.putManifest(input);
    const record = await store.getManifest('app', input.digest);
    assert.ok(record);
    assert.deepEqual(withoutCreatedAt(record), {
      repository: 'app',
      digest: input.digest,
      mediaType: imageManifest,
      size: input.size,
      artifactType: 'application/vnd.example.sbom',
      annotations: { 'org.opencontainers.image.title': 'app', 'x.y': 'z' },
      config: input.config,
    });
    assert.ok(!Number.isNaN(Date.parse(record.createdAt)));
    assert.ok(await store.getRepository('app'));
    assert.equal(await store.resolveTag('app', 'latest'), input.digest);
    for (const blob of input.blobs) assert.deepEqual(await store.getBlobLink('app', blob.digest), blob);
    assert.equal(await store.getManifest('other', input.digest), undefined, 'manifests are per repository');
  }));

  test('optional manifest fields are absent, not undefined, when not given', withStore(async (store) => {
    const input: PutManifestInput = {
      repository: 'bare',
      digest: fakeDigest('bare'),
      mediaType: imageIndex,
      size: 10,
      blobs: [],
      manifests: [],
    };
    await store.putManifest(input);
    const record = await store.getManifest('bare', input.digest);
    assert.deepEqual(Object.keys(record ?? {}).sort(), ['createdAt', 'digest', 'mediaType', 'repository', 'size']);
    assert.deepEqual(await store.listTags('bare'), []);
  }));

  test('putting the same manifest again keeps it once and adds the new tag', withStore(async (store) => {
    const input = manifestInput('again', 1, { tag: 'a' });
    await store.putManifest(input);
    const first = await store.getManifest('again', input.digest);
    await store.putManifest({ ...input, tag: 'b' });
    assert.deepEqual(await store.getManifest('again', input.digest), first, 'createdAt is kept');
    assert.deepEqual(await store.tagsOf('again', input.digest), ['a', 'b']);
    assert.equal((await store.listManifests('again')).length, 1);
  }));

  test('tagMayNotMove: a tag is created or kept, never moved, and a refused write leaves nothing', withStore(async (store) => {
    const first = manifestInput('pinned', 1, { tag: 'v1', tagMayNotMove: true });
    await store.putManifest(first);
    await store.putManifest(first);
    const second = manifestInput('pinned', 2, { tag: 'v1', tagMayNotMove: true });
    await assert.rejects(store.putManifest(second), { kind: 'permission-denied', code: 'DENIED' });
    assert.equal(await store.resolveTag('pinned', 'v1'), first.digest);
    assert.equal(await store.getManifest('pinned', second.digest), undefined, 'the refused manifest is not stored');
    await store.putManifest({ ...second, tagMayNotMove: false });
    assert.equal(await store.resolveTag('pinned', 'v1'), second.digest, 'without the flag a tag moves as before');
  }));

  test('tagMayNotMove: of two writes racing to create a tag, one wins and the other is refused', withStore(async (store) => {
    const racers = [manifestInput('race', 1, { tag: 'v1', tagMayNotMove: true }), manifestInput('race', 2, { tag: 'v1', tagMayNotMove: true })];
    const settled = await Promise.allSettled(racers.map((input) => store.putManifest(input)));
    const won = settled.flatMap((result, i) => (result.status === 'fulfilled' ? [racers[i].digest] : []));
    assert.equal(won.length, 1, JSON.stringify(settled.map((r) => r.status)));
    assert.equal(await store.resolveTag('race', 'v1'), won[0]);
  }));

  test('an index and its children are stored; deleting a child leaves the index', withStore(async (store) => {
    const children = [manifestInput('multi', 1), manifestInput('multi', 2)];
    for (const child of children) await store.putManifest(child);
    const index: PutManifestInput = {
      repository: 'multi',
      digest: fakeDigest('index'),
      mediaType: imageIndex,
      size: 300,
      blobs: [],
      manifests: children.map((c) => c.digest),
      tag: 'latest',
    };
    await store.putManifest(index);
    assert.equal((await store.getManifest('multi', index.digest))?.mediaType, imageIndex);
    assert.equal(await store.deleteManifest('multi', children[0].digest), true);
    assert.equal(await store.resolveTag('multi', 'latest'), index.digest);
    assert.equal(await store.deleteManifest('multi', index.digest), true);
    assert.deepEqual((await store.listManifests('multi')).map((m) => m.digest), [children[1].digest]);
  }));

  test('deleteManifest removes the manifest and every tag on it, and nothing else', withStore(async (store) => {
    const doomed = manifestInput('repo', 1, { tag: 'old' });
    const kept = manifestInput('repo', 2, { tag: 'new' });
    await store.putManifest(doomed);
    await store.setTag('repo', 'also-old', doomed.digest);
    await store.putManifest(kept);
    assert.equal(await store.deleteManifest('repo', doomed.digest), true);
    assert.equal(await store.getManifest('repo', doomed.digest), undefined);
    assert.deepEqual(await store.listTags('repo'), ['new']);
    assert.deepEqual(await store.tagsOf('repo', doomed.digest), []);
    assert.equal(await store.resolveTag('repo', 'new'), kept.digest);
    assert.deepEqual(await store.getBlobLink('repo', doomed.blobs[0].digest), doomed.blobs[0], 'blob links stay for GC to decide');
    assert.equal(await store.deleteManifest('repo', doomed.digest), false);
    assert.equal(await store.deleteManifest('nowhere', doomed.digest), false);
  }));

  test('listManifests lists a repository newest first', withStore(async (store) => {
    const inputs = [manifestInput('hist', 1), manifestInput('hist', 2), manifestInput('hist', 3)];
    for (const input of inputs) {
      await store.putManifest(input);
      await new Promise((resolve) => setTimeout(resolve, 3));
    }
    await store.putManifest(manifestInput('elsewhere', 4));
    const listed = await store.listManifests('hist');
    assert.deepEqual(listed.map((m) => m.digest), inputs.map((i) => i.digest).reverse());
    for (const record of listed) assert.equal(record.repository, 'hist');
    assert.deepEqual(await store.listManifests('empty'), []);
  }));

  test('a failing putManifest leaves nothing behind', withStore(async (store) => {
    const input = manifestInput('atomic', 1, { tag: 'latest' });
    // An unbindable blob size fails the transaction after the manifest row was written.
    const broken = { ...input, blobs: [...input.blobs, { digest: fakeDigest('broken'), size: undefined as unknown as number }] };
    await assert.rejects(store.putManifest(broken));
    assert.equal(await store.getManifest('atomic', input.digest), undefined);
    assert.equal(await store.resolveTag('atomic', 'latest'), undefined);
    assert.equal(await store.getBlobLink('atomic', input.blobs[0].digest), undefined);
    assert.equal(await store.getRepository('atomic'), undefined);
    assert.deepEqual(await store.listRepositories(), []);
    await store.putManifest(input);
    assert.equal(await store.resolveTag('atomic', 'latest'), input.digest, 'the store is usable afterwards');
  }));
}

function describeTags(withStore: WithStore): void {
  test('setTag points a tag at a manifest and moves it', withStore(async (store) => {
    const one = manifestInput('tags', 1);
    const two = manifestInput('tags', 2);
    await store.putManifest(one);
    await store.putManifest(two);
    await store.setTag('tags', 'stable', one.digest);
    assert.equal(await store.resolveTag('tags', 'stable'), one.digest);
    await store.setTag('tags', 'stable', two.digest);
    assert.equal(await store.resolveTag('tags', 'stable'), two.digest);
    assert.deepEqual(await store.tagsOf('tags', one.digest), []);
    assert.deepEqual(await store.tagsOf('tags', two.digest), ['stable']);
  }));

  test('setTag on a manifest the repository lacks is not-found and changes nothing', withStore(async (store) => {
    const elsewhere = manifestInput('has-it', 1);
    await store.putManifest(elsewhere);
    await store.ensureRepository('lacks-it');
    await expectFault(store.setTag('lacks-it', 'x', elsewhere.digest), 'not-found');
    await expectFault(store.setTag('has-it', 'x', fakeDigest('missing')), 'not-found');
    assert.deepEqual(await store.listTags('lacks-it'), []);
    assert.deepEqual(await store.listTags('has-it'), []);
  }));

  test('tags list sorted in byte order and paginate', withStore(async (store) => {
    const input = manifestInput('paged', 1);
    await store.putManifest(input);
    const tags = ['v2', 'latest', 'V1', 'v10', '1.0', '1.0-rc', '1.0_b', 'a.b'];
    for (const tag of tags) await store.setTag('paged', tag, input.digest);
    const sorted = [...tags].sort(byteOrder);
    assert.deepEqual(await store.listTags('paged'), sorted);
    assert.deepEqual(await store.listTags('paged', { n: 2 }), sorted.slice(0, 2));
    assert.deepEqual(await store.listTags('paged', { n: 2, last: sorted[1] }), sorted.slice(2, 4));
    assert.deepEqual(await store.listTags('paged', { last: sorted.at(-1) }), []);
    assert.deepEqual(await store.listTags('paged', { n: 0 }), []);
    assert.deepEqual(await pages((page) => store.listTags('paged', page), 3), sorted);
    assert.deepEqual(await store.tagsOf('paged', input.digest), sorted);
    assert.deepEqual(await store.listTags('unknown-repo'), []);
    await expectFault(store.listTags('paged', { n: -5 }), 'invalid-argument');
  }));

  test('getTaggedManifest reads the manifest a tag names, as getManifest does, and follows moves and deletes', withStore(async (store) => {
    const one = manifestInput('named', 1, { tag: 'stable', annotations: { 'x.y': 'z' }, artifactType: 'application/vnd.example.sbom' });
    const two = manifestInput('named', 2);
    await store.putManifest(one);
    await store.putManifest(two);
    assert.equal((await store.getTaggedManifest('named', 'stable'))?.digest, one.digest);
    assert.deepEqual(await store.getTaggedManifest('named', 'stable'), await store.getManifest('named', one.digest));
    await store.setTag('named', 'stable', two.digest);
    assert.deepEqual(await store.getTaggedManifest('named', 'stable'), await store.getManifest('named', two.digest));
    await store.putManifest(manifestInput('other', 3, { tag: 'only-here' }));
    assert.equal(await store.getTaggedManifest('named', 'only-here'), undefined, 'tags are per repository');
    assert.equal(await store.getTaggedManifest('named', 'absent'), undefined);
    assert.equal(await store.getTaggedManifest('nowhere', 'stable'), undefined);
    assert.equal(await store.deleteManifest('named', two.digest), true);
    assert.equal(await store.getTaggedManifest('named', 'stable'), undefined, 'the tag went with its manifest');
    await store.setTag('named', 'gone', one.digest);
    assert.equal(await store.deleteTag('named', 'gone'), true);
    assert.equal(await store.getTaggedManifest('named', 'gone'), undefined);
  }));

  test('deleteTag removes only the tag', withStore(async (store) => {
    const input = manifestInput('untag', 1, { tag: 'a' });
    await store.putManifest(input);
    await store.setTag('untag', 'b', input.digest);
    assert.equal(await store.deleteTag('untag', 'a'), true);
    assert.equal(await store.resolveTag('untag', 'a'), undefined);
    assert.equal(await store.resolveTag('untag', 'b'), input.digest);
    assert.ok(await store.getManifest('untag', input.digest), 'the manifest stays');
    assert.equal(await store.deleteTag('untag', 'a'), false);
    assert.equal(await store.deleteTag('nowhere', 'a'), false);
  }));
}

function describeReferrers(withStore: WithStore): void {
  test('listReferrers returns descriptors of manifests whose subject matches, filtered by artifactType', withStore(async (store) => {
    const subject = manifestInput('ref', 1);
    await store.putManifest(subject);
    const sbom = manifestInput('ref', 2, { subject: subject.digest, artifactType: 'application/spdx+json', annotations: { a: '1' } });
    const sig = manifestInput('ref', 3, { subject: subject.digest, artifactType: 'application/vnd.dev.cosign' });
    const unrelated = manifestInput('ref', 4, { subject: fakeDigest('someone-else'), artifactType: 'application/spdx+json' });
    const otherRepo = manifestInput('ref-other', 5, { subject: subject.digest, artifactType: 'application/spdx+json' });
    for (const input of [sbom, sig, unrelated, otherRepo]) await store.putManifest(input);

    const all = await store.listReferrers('ref', subject.digest);
    assert.deepEqual(sortByDigest(all), sortByDigest([
      { mediaType: imageManifest, digest: sbom.digest, size: sbom.size, artifactType: 'application/spdx+json', annotations: { a: '1' } },
      { mediaType: imageManifest, digest: sig.digest, size: sig.size, artifactType: 'application/vnd.dev.cosign' },
    ]));
    const sboms = await store.listReferrers('ref', subject.digest, { artifactType: 'application/spdx+json' });
    assert.deepEqual(sboms.map((d) => d.digest), [sbom.digest]);
    assert.deepEqual(await store.listReferrers('ref', subject.digest, { artifactType: 'application/none' }), []);
    assert.deepEqual(await store.listReferrers('ref', subject.digest, {}), all);
    assert.deepEqual(await store.listReferrers('ref', fakeDigest('nobody')), []);

    await store.deleteManifest('ref', sig.digest);
    assert.deepEqual((await store.listReferrers('ref', subject.digest)).map((d) => d.digest), [sbom.digest]);
  }));

  test('a referrer may be pushed before its subject exists', withStore(async (store) => {
    const subjectDigest = fakeDigest('future-subject');
    const referrer = manifestInput('early', 1, { subject: subjectDigest });
    await store.putManifest(referrer);
    assert.equal((await store.getManifest('early', referrer.digest))?.subject, subjectDigest);
    assert.deepEqual((await store.listReferrers('early', subjectDigest)).map((d) => d.digest), [referrer.digest]);
  }));
}

function describeUploads(withStore: WithStore): void {
  test('upload sessions are created, read and deleted; ids are unique', withStore(async (store) => {
    const session = { id: 'c0ffee-1', repository: 'uploads/repo', startedAt: '2024-01-02T03:04:05.000Z' };
    assert.equal(await store.getUpload(session.id), undefined);
    await store.createUpload(session);
    assert.deepEqual(await store.getUpload(session.id), session);
    await expectFault(store.createUpload({ ...session, repository: 'other' }), 'already-exists');
    assert.deepEqual(await store.getUpload(session.id), session, 'the first session is unchanged');
    await store.deleteUpload(session.id);
    assert.equal(await store.getUpload(session.id), undefined);
    await store.deleteUpload(session.id);
    assert.deepEqual(await store.listRepositories(), [], 'an upload alone does not create a repository');
  }));

  test('uploadsStartedBefore lists the sessions older than a cutoff, oldest first', withStore(async (store) => {
    const old = { id: 'old-1', repository: 'uploads/repo', startedAt: '2024-01-01T00:00:00.000Z' };
    const older = { id: 'old-0', repository: 'uploads/other', startedAt: '2023-12-31T00:00:00.000Z' };
    const fresh = { id: 'fresh', repository: 'uploads/repo', startedAt: '2024-01-09T00:00:00.000Z' };
    for (const session of [old, older, fresh]) await store.createUpload(session);
    assert.deepEqual(await store.uploadsStartedBefore('2024-01-02T00:00:00.000Z'), [older, old]);
    assert.deepEqual(await store.uploadsStartedBefore('2023-01-01T00:00:00.000Z'), []);
  }));
}

function describeDurability(withStore: WithStore): void {
  test('everything survives reopening the store on the same database', withStore(async (store, fixture) => {
    if (!fixture.reopen) return; // An in-memory database has no second instance; persistence is moot.
    const input = manifestInput('durable', 1, { tag: 'v1', subject: fakeDigest('subj'), artifactType: 'x/y' });
    await store.putManifest(input);
    await store.setRepositoryDescription('durable', 'kept across restarts');
    await store.createUpload({ id: 'persisted', repository: 'durable', startedAt: '2024-01-01T00:00:00.000Z' });
    const before = await store.getManifest('durable', input.digest);
    await store.close();
    const reopened = await fixture.reopen();
    try {
      assert.deepEqual(await reopened.getManifest('durable', input.digest), before);
      assert.equal(await reopened.resolveTag('durable', 'v1'), input.digest);
      assert.equal((await reopened.getRepository('durable'))?.description, 'kept across restarts');
      assert.deepEqual(await reopened.getBlobLink('durable', input.blobs[0].digest), input.blobs[0]);
      assert.equal((await reopened.getUpload('persisted'))?.repository, 'durable');
      assert.equal((await reopened.listReferrers('durable', fakeDigest('subj'))).length, 1);
    } finally {
      await reopened.close();
    }
  }));
}

// ---- helpers ----

function fakeDigest(seed: string): string {
  return `sha256:${createHash('sha256').update(seed).digest('hex')}`;
}

function manifestInput(
  repository: string,
  n: number,
  extra: Partial<Pick<PutManifestInput, 'tag' | 'tagMayNotMove' | 'subject' | 'artifactType' | 'annotations'>> = {},
): PutManifestInput {
  const config = { digest: fakeDigest(`config-${n}`), size: 100 + n };
  const layer = { digest: fakeDigest(`layer-${n}`), size: 1000 + n };
  return {
    repository,
    digest: fakeDigest(`manifest-${repository}-${n}`),
    mediaType: imageManifest,
    size: 500 + n,
    config: config.digest,
    blobs: [config, layer],
    manifests: [],
    ...extra,
  };
}

async function pages(list: (page: { n: number; last?: string }) => Promise<string[]>, n: number): Promise<string[]> {
  const all: string[] = [];
  let last: string | undefined;
  for (;;) {
    const page = await list(last === undefined ? { n } : { n, last });
    all.push(...page);
    if (page.length < n) return all;
    last = page.at(-1);
  }
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function sortByDigest<T extends { digest: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => byteOrder(a.digest, b.digest));
}

function withoutCreatedAt(record: ManifestRecord): Omit<ManifestRecord, 'createdAt'> {
  const { createdAt: _createdAt, ...rest } = record;
  return rest;
}

async function expectFault(promise: Promise<unknown>, kind: FaultKind): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFault(err, kind), `expected Fault ${kind}, got ${String(err)}`);
    return true;
  });
}
