import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { mediaTypes } from '../../oci/media-types.ts';
import type { TagList, TagRow } from '../../web/api-types.ts';
import { admin, anonymous, assertApiError, type BrowseHub, getJson, pushImageWith, pushIndex, startBrowseHub, user } from '../browse/browse-fixture.ts';

const created = '2024-05-06T07:08:09.123456789Z';

describe('GET /api/v1/tags', () => {
  let hub: BrowseHub;
  before(async () => {
    hub = await startBrowseHub();
    const app = hub.registry.app;
    await pushImageWith(app, 'team/app', 'v1', { config: { created, os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: ['one', 'two!'] });
    await pushImageWith(app, 'team/app', 'undated', { config: { os: 'linux', architecture: 'amd64' }, layers: ['three'] });
    const shared = 'a layer both platforms share';
    const amd64 = await pushImageWith(app, 'team/multi', 'amd64', { config: { created: '2024-01-01T00:00:00Z', os: 'linux', architecture: 'amd64' }, layers: [shared, 'amd64 only'] });
    const arm64 = await pushImageWith(app, 'team/multi', 'arm64', { config: { created: '2024-02-01T00:00:00Z', os: 'linux', architecture: 'arm64', variant: 'v8' }, layers: [shared] });
    const attestation = await pushImageWith(app, 'team/multi', 'attestation', { config: {}, configMediaType: 'application/vnd.in-toto+json', layers: ['statement'] });
    await pushIndex(app, 'team/multi', 'latest', [
      { image: amd64, fields: { platform: { os: 'linux', architecture: 'amd64' } } },
      { image: arm64, fields: { platform: { os: 'linux', architecture: 'arm64', variant: 'v8' } } },
      { image: attestation, fields: { platform: { os: 'unknown', architecture: 'unknown' }, annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } } },
    ]);
    await pushImageWith(app, 'team/artifact', 'sbom', {
      config: '{}',
      configMediaType: mediaTypes.ociEmpty,
      layers: ['{"spdxVersion":"SPDX-2.3"}'],
      extra: { artifactType: 'application/spdx+json' },
    });
    for (let i = 0; i < 5; i++) await pushImageWith(app, 'team/many', `t${i}`, { config: { os: 'linux', architecture: 'amd64', n: i }, layers: [`l${i}`] });
  });
  after(() => hub.close());

  const rowOf = (list: TagList, name: string): TagRow => {
    const row = list.tags.find((t) => t.name === name);
    assert.ok(row, `tag ${name} listed`);
    return row;
  };

  test("an image's row: digest, media type, size of manifest, config and layers, created and platform from the config", async () => {
    const list = await getJson<TagList>(await hub.as(user), '/api/v1/tags?repository=team/app');
    const manifest = await hub.registry.registry.getManifest('team/app', 'v1');
    const row = rowOf(list, 'v1');
    const configSize = Buffer.byteLength(JSON.stringify({ created, os: 'linux', architecture: 'arm64', variant: 'v8' }));
    assert.deepEqual(row, {
      name: 'v1',
      digest: manifest.digest,
      mediaType: mediaTypes.ociManifest,
      size: manifest.size + configSize + 'one'.length + 'two!'.length,
      created: '2024-05-06T07:08:09.123Z',
      platforms: ['linux/arm64/v8'],
    });
    assert.deepEqual(list.tags.map((t) => t.name), ['undated', 'v1'], 'in tag order');
    assert.equal(list.repository, 'team/app');
    assert.deepEqual(list.actions, ['pull']);
    assert.equal(list.next, null);
  });

  test('without a created in the config, created is when the manifest was pushed', async () => {
    const row = rowOf(await getJson<TagList>(await hub.as(user), '/api/v1/tags?repository=team/app'), 'undated');
    const record = await hub.registry.registry.resolveManifest('team/app', 'undated');
    assert.equal(row.created, record.createdAt);
    assert.deepEqual(row.platforms, ['linux/amd64']);
  });

  test("an index's row: its children's platforms (attestations left out), sizes with shared blobs once, the newest child's created", async () => {
    const list = await getJson<TagList>(await hub.as(user), '/api/v1/tags?repository=team/multi');
    const row = rowOf(list, 'latest');
    assert.equal(row.mediaType, mediaTypes.ociIndex);
    assert.deepEqual(row.platforms, ['linux/amd64', 'linux/arm64/v8']);
    assert.equal(row.created, '2024-02-01T00:00:00.000Z');
    const parts = ['amd64', 'arm64', 'attestation'].map((tag) => rowOf(list, tag));
    const index = await hub.registry.registry.getManifest('team/multi', 'latest');
    const sharedLayer = 'a layer both platforms share'.length;
    assert.equal(row.size, index.size + parts.reduce((sum, part) => sum + part.size, 0) - sharedLayer);
    assert.deepEqual(rowOf(list, 'attestation').platforms, [], 'an artifact config has no platform');
  });

  test("an artifact's row has no platform and counts its blobs", async () => {
    const row = rowOf(await getJson<TagList>(await hub.as(user), '/api/v1/tags?repository=team/artifact'), 'sbom');
    assert.deepEqual(row.platforms, []);
    const manifest = await hub.registry.registry.getManifest('team/artifact', 'sbom');
    assert.equal(row.size, manifest.size + 2 + '{"spdxVersion":"SPDX-2.3"}'.length);
  });

  test('tags page with n and last; next is the last tag of a full page', async () => {
    const app = await hub.as(user);
    const first = await getJson<TagList>(app, '/api/v1/tags?repository=team/many&n=2');
    assert.deepEqual(first.tags.map((t) => t.name), ['t0', 't1']);
    assert.equal(first.next, 't1');
    const last = await getJson<TagList>(app, '/api/v1/tags?repository=team/many&n=3&last=t1');
    assert.deepEqual(last.tags.map((t) => t.name), ['t2', 't3', 't4']);
    assert.equal(last.next, 't4');
    assert.deepEqual(await getJson<TagList>(app, '/api/v1/tags?repository=team/many&n=3&last=t4'), { repository: 'team/many', actions: ['pull'], tags: [], next: null });
  });

  test('pull is required: anonymous 401, a user without pull 403, an unknown repository 404 NAME_UNKNOWN', async () => {
    const url = '/api/v1/tags?repository=team/app';
    assertApiError(await (await hub.as(anonymous, () => [])).inject({ method: 'GET', url }), 401, 'UNAUTHORIZED');
    assertApiError(await (await hub.as(user, () => [])).inject({ method: 'GET', url }), 403, 'DENIED');
    assertApiError(await (await hub.as(user)).inject({ method: 'GET', url: '/api/v1/tags?repository=team/nothing' }), 404, 'NAME_UNKNOWN');
    const list = await getJson<TagList>(await hub.as(admin), url);
    assert.deepEqual(list.actions, ['pull', 'push', 'delete']);
  });

  test('a name with an automated build but no push yet has no tags (200), still behind pull; other unknown names 404', async () => {
    await hub.builds.addAutobuild({
      id: '0123456789abcdef', repository: 'team/built', git: 'https://git.example/team/built.git', ref: 'main',
      dockerfile: 'Dockerfile', context: '.', tag: 'latest', secret: 's', createdAt: '2024-01-01T00:00:00.000Z',
    });
    const url = '/api/v1/tags?repository=team/built';
    assert.deepEqual(await getJson<TagList>(await hub.as(user), url), { repository: 'team/built', actions: ['pull'], tags: [], next: null });
    assertApiError(await (await hub.as(anonymous, () => [])).inject({ method: 'GET', url }), 401, 'UNAUTHORIZED');
    assertApiError(await (await hub.as(user)).inject({ method: 'GET', url: '/api/v1/tags?repository=team/built2' }), 404, 'NAME_UNKNOWN');
  });

  test('bad input: NAME_INVALID, TAG_INVALID for last, INVALID for the rest', async () => {
    const app = await hub.as(admin);
    const cases: [string, string][] = [
      ['repository=Team/App', 'NAME_INVALID'],
      [`repository=${'a'.repeat(256)}`, 'NAME_INVALID'],
      ['repository=team/app&last=-x', 'TAG_INVALID'],
      ['repository=team/app&n=101', 'INVALID'],
      ['', 'INVALID'],
      ['repository=team/app&repository=team/multi', 'INVALID'],
      ['repository=team/app&other=1', 'INVALID'],
    ];
    for (const [query, code] of cases) assertApiError(await app.inject({ method: 'GET', url: `/api/v1/tags?${query}` }), 400, code);
  });
});

describe('DELETE /api/v1/tags', () => {
  let hub: BrowseHub;
  before(async () => {
    hub = await startBrowseHub({ registry: { immutableTags: [{ repository: 'prod/**', tag: 'v[0-9]+' }] } });
    await pushImageWith(hub.registry.app, 'team/app', 'old', { config: { os: 'linux', architecture: 'amd64' }, layers: ['x'] });
    await pushImageWith(hub.registry.app, 'team/app', 'keep', { config: { os: 'linux', architecture: 'amd64' }, layers: ['x'] });
    await pushImageWith(hub.registry.app, 'prod/app', 'v1', { config: { os: 'linux', architecture: 'amd64' }, layers: ['y'] });
  });
  after(() => hub.close());

  const remove = async (app: Awaited<ReturnType<BrowseHub['as']>>, query: string) => app.inject({ method: 'DELETE', url: `/api/v1/tags?${query}` });

  test('delete is required: anonymous 401, a user with pull only 403, and nothing changes', async () => {
    assertApiError(await remove(await hub.as(anonymous, () => ['pull']), 'repository=team/app&tag=old'), 401, 'UNAUTHORIZED');
    assertApiError(await remove(await hub.as(user), 'repository=team/app&tag=old'), 403, 'DENIED');
    assert.ok(await hub.registry.registry.meta.resolveTag('team/app', 'old'));
    assert.deepEqual(hub.deleted, []);
  });

  test('a user who may delete removes the tag only; the manifest stays by digest; the event names the actor', async () => {
    const digest = await hub.registry.registry.meta.resolveTag('team/app', 'old');
    const res = await remove(await hub.as(user, () => ['pull', 'delete']), 'repository=team/app&tag=old');
    assert.equal(res.statusCode, 204, res.body);
    assert.equal(res.body, '');
    assert.equal(await hub.registry.registry.meta.resolveTag('team/app', 'old'), undefined);
    assert.ok(await hub.registry.registry.meta.getManifest('team/app', digest ?? ''), 'the manifest is kept');
    assert.deepEqual(hub.deleted, [{ repository: 'team/app', reference: 'old', actor: 'alice' }]);
    assertApiError(await remove(await hub.as(admin), 'repository=team/app&tag=old'), 404, 'MANIFEST_UNKNOWN');
    assert.equal(hub.deleted.length, 1, 'no event for a tag that was not there');
  });

  test('an immutable tag is refused as the registry refuses it', async () => {
    assertApiError(await remove(await hub.as(admin), 'repository=prod/app&tag=v1'), 403, 'DENIED');
    assert.ok(await hub.registry.registry.meta.resolveTag('prod/app', 'v1'));
  });

  test('bad input: NAME_INVALID, TAG_INVALID (a digest is no tag), INVALID without a tag', async () => {
    const app = await hub.as(admin);
    assertApiError(await remove(app, 'repository=Team&tag=keep'), 400, 'NAME_INVALID');
    assertApiError(await remove(app, 'repository=team/app&tag=.bad'), 400, 'TAG_INVALID');
    const digest = await hub.registry.registry.meta.resolveTag('team/app', 'keep');
    assertApiError(await remove(app, `repository=team/app&tag=${digest}`), 400, 'TAG_INVALID');
    assertApiError(await remove(app, 'repository=team/app'), 400, 'INVALID');
    assert.ok(await hub.registry.registry.meta.resolveTag('team/app', 'keep'));
  });
});
