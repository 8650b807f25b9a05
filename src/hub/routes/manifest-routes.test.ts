import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { putManifest } from '../../registry/v2/test-registry.ts';
import type { ManifestView } from '../../web/api-types.ts';
import { admin, anonymous, assertApiError, type BrowseHub, getJson, type PushedImage, pushImageWith, pushIndex, startBrowseHub, user } from '../browse/browse-fixture.ts';
import { maxConfigBytes } from '../browse/stored-manifests.ts';

const config = {
  created: '2024-03-04T05:06:07Z',
  os: 'linux',
  architecture: 'amd64',
  config: {
    User: 'app',
    WorkingDir: '/srv',
    Env: ['PATH=/usr/bin', 'MODE=prod'],
    Cmd: ['serve', '--port', '80'],
    Entrypoint: ['/bin/app'],
    Labels: { 'org.opencontainers.image.source': 'https://example.test/app' },
    ExposedPorts: { '80/tcp': {}, '443/tcp': {} },
  },
  history: [
    { created: '2024-03-04T05:06:00Z', created_by: '/bin/sh -c #(nop) ADD file:abc in /' },
    { created: '2024-03-04T05:06:07Z', created_by: 'ENV MODE=prod', empty_layer: true, comment: 'buildkit' },
    'not a history entry',
  ],
};

describe('GET /api/v1/manifest', () => {
  let hub: BrowseHub;
  let image: PushedImage;
  let index: { digest: string };
  let signature: string;
  before(async () => {
    hub = await startBrowseHub();
    const app = hub.registry.app;
    image = await pushImageWith(app, 'team/app', 'v1', { config, layers: ['layer one', 'layer two'] });
    const res = await putManifest(app, 'team/app', 'stable', (await hub.registry.registry.getManifest('team/app', 'v1')).body.toString());
    assert.equal(res.statusCode, 201);
    const arm = await pushImageWith(app, 'team/app', 'arm', { config: { os: 'linux', architecture: 'arm', variant: 'v7' }, layers: ['arm layer'] });
    index = await pushIndex(app, 'team/app', 'multi', [
      { image, fields: { platform: { os: 'linux', architecture: 'amd64' } } },
      { image: arm, fields: { platform: { os: 'linux', architecture: 'arm', variant: 'v7' } } },
    ]);
    const subject = { mediaType: mediaTypes.ociManifest, digest: image.digest, size: image.size };
    const signed = await pushImageWith(app, 'team/app', 'sha256-signature', {
      config: '{}',
      configMediaType: mediaTypes.ociEmpty,
      layers: ['a signature'],
      extra: { artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json', subject, annotations: { 'dev.sigstore.cosign/signature': 'MEUC' } },
    });
    signature = signed.digest;
  });
  after(() => hub.close());

  test("an image by tag: layers, the config's env, cmd, entrypoint, labels, ports and history, its tags, its referrers", async () => {
    const view = await getJson<ManifestView>(await hub.as(user), '/api/v1/manifest?repository=team/app&reference=v1');
    assert.equal(view.digest, image.digest);
    assert.equal(view.mediaType, mediaTypes.ociManifest);
    assert.equal(view.artifactType, null);
    assert.equal(view.size, image.size + image.config.size + 'layer one'.length + 'layer two'.length);
    assert.deepEqual(view.tags, ['stable', 'v1']);
    assert.deepEqual(view.layers, image.layers.map((l) => ({ ...l, mediaType: mediaTypes.ociLayerGzip })));
    assert.deepEqual(view.config, {
      digest: image.config.digest,
      created: '2024-03-04T05:06:07.000Z',
      os: 'linux',
      architecture: 'amd64',
      user: 'app',
      workingDir: '/srv',
      env: ['PATH=/usr/bin', 'MODE=prod'],
      cmd: ['serve', '--port', '80'],
      entrypoint: ['/bin/app'],
      labels: { 'org.opencontainers.image.source': 'https://example.test/app' },
      exposedPorts: ['443/tcp', '80/tcp'],
      history: [
        { created: '2024-03-04T05:06:00Z', createdBy: '/bin/sh -c #(nop) ADD file:abc in /', emptyLayer: false },
        { created: '2024-03-04T05:06:07Z', createdBy: 'ENV MODE=prod', comment: 'buildkit', emptyLayer: true },
      ],
    });
    assert.deepEqual(view.children, []);
    assert.deepEqual(view.referrers, [{
      digest: signature,
      mediaType: mediaTypes.ociManifest,
      artifactType: 'application/vnd.dev.cosign.artifact.sig.v1+json',
      size: (await hub.registry.registry.getManifest('team/app', signature)).size,
      annotations: { 'dev.sigstore.cosign/signature': 'MEUC' },
    }]);
    assert.deepEqual(view.actions, ['pull']);
    const byDigest = await getJson<ManifestView>(await hub.as(user), `/api/v1/manifest?repository=team/app&reference=${image.digest}`);
    assert.deepEqual(byDigest, view, 'the same by digest');
  });

  test('an index: its children with their platforms, no layers, no config', async () => {
    const view = await getJson<ManifestView>(await hub.as(admin), '/api/v1/manifest?repository=team/app&reference=multi');
    assert.equal(view.digest, index.digest);
    assert.equal(view.mediaType, mediaTypes.ociIndex);
    assert.deepEqual(view.children.map((c) => c.platform), ['linux/amd64', 'linux/arm/v7']);
    assert.equal(view.children[0].digest, image.digest);
    assert.equal(view.children[0].size, image.size);
    assert.deepEqual(view.layers, []);
    assert.equal(view.config, null);
    assert.deepEqual(view.actions, ['pull', 'push', 'delete']);
  });

  test('an artifact: its artifact type, its blobs as layers, no config view', async () => {
    const view = await getJson<ManifestView>(await hub.as(user), `/api/v1/manifest?repository=team/app&reference=${signature}`);
    assert.equal(view.artifactType, 'application/vnd.dev.cosign.artifact.sig.v1+json');
    assert.equal(view.config, null);
    assert.deepEqual(view.layers.map((l) => l.size), ['a signature'.length]);
    assert.deepEqual(view.tags, ['sha256-signature']);
  });

  test('a config over the size bound is not read: config null, the manifest still shown', async () => {
    const padding = 'x'.repeat(maxConfigBytes);
    const big = await pushImageWith(hub.registry.app, 'team/big', 'v1', { config: { os: 'linux', architecture: 'amd64', padding }, layers: ['l'] });
    const view = await getJson<ManifestView>(await hub.as(user), '/api/v1/manifest?repository=team/big&reference=v1');
    assert.equal(view.config, null);
    assert.equal(view.size, big.size + big.config.size + 1, 'its bytes still count');
  });

  test('odd stored content reads as far as it goes: a config of the wrong shape, a schema 1 manifest, an unknown media type', async () => {
    const app = hub.registry.app;
    const odd = await pushImageWith(app, 'team/odd', 'v1', { config: { os: 7, config: { Env: 'not a list', Cmd: ['ok'], Labels: [1] }, history: 'none' }, layers: ['l'] });
    const view = await getJson<ManifestView>(await hub.as(user), '/api/v1/manifest?repository=team/odd&reference=v1');
    assert.equal(view.digest, odd.digest);
    assert.deepEqual(view.config, { digest: odd.config.digest, env: [], cmd: ['ok'], entrypoint: null, labels: {}, exposedPorts: [], history: [] });
    const notJson = await pushImageWith(app, 'team/odd', 'v2', { config: 'not json at all', layers: ['l'] });
    assert.equal((await getJson<ManifestView>(await hub.as(user), '/api/v1/manifest?repository=team/odd&reference=v2')).config, null, notJson.digest);
    for (const [tag, mediaType, body] of [
      ['schema1', mediaTypes.dockerManifestV1Signed, JSON.stringify({ schemaVersion: 1, name: 'team/odd', tag: 'schema1', fsLayers: [{ blobSum: 'sha256:x' }] })],
      ['foreign', 'application/vnd.example.thing+json', JSON.stringify({ layers: 'nope', manifests: [{ digest: 'bad' }], config: 5 })],
      ['array', mediaTypes.ociManifest, '[1,2]'],
    ]) {
      const digest = await storeForeign(tag, mediaType, body);
      const shown = await getJson<ManifestView>(await hub.as(user), `/api/v1/manifest?repository=team/odd&reference=${tag}`);
      assert.deepEqual({ ...shown, actions: [] }, {
        repository: 'team/odd', digest, mediaType, artifactType: null, size: Buffer.byteLength(body), tags: [tag],
        layers: [], config: null, children: [], referrers: [], actions: [],
      });
    }
  });

  /** Rows as an older wharf or a migration might have left them: no validation on the way in. */
  async function storeForeign(tag: string, mediaType: string, body: string): Promise<string> {
    const digest = digestOf(body);
    await hub.registry.registry.storeBytes(digest, Buffer.from(body));
    await hub.registry.registry.meta.putManifest({ repository: 'team/odd', digest, mediaType, size: Buffer.byteLength(body), blobs: [], manifests: [], tag });
    return digest;
  }

  test('pull is required; unknown manifests answer 404 MANIFEST_UNKNOWN', async () => {
    const url = '/api/v1/manifest?repository=team/app&reference=v1';
    assertApiError(await (await hub.as(anonymous, () => [])).inject({ method: 'GET', url }), 401, 'UNAUTHORIZED');
    assertApiError(await (await hub.as(user, () => [])).inject({ method: 'GET', url }), 403, 'DENIED');
    const app = await hub.as(user);
    assertApiError(await app.inject({ method: 'GET', url: '/api/v1/manifest?repository=team/app&reference=nope' }), 404, 'MANIFEST_UNKNOWN');
    assertApiError(await app.inject({ method: 'GET', url: `/api/v1/manifest?repository=team/none&reference=${image.digest}` }), 404, 'MANIFEST_UNKNOWN');
  });

  test('bad input answers the registry codes', async () => {
    const app = await hub.as(admin);
    const cases: [string, string][] = [
      ['repository=a//b&reference=v1', 'NAME_INVALID'],
      ['repository=team/app&reference=-v1', 'TAG_INVALID'],
      ['repository=team/app&reference=sha256:abc', 'DIGEST_INVALID'],
      [`repository=team/app&reference=${'a'.repeat(200)}`, 'TAG_INVALID'],
      ['repository=team/app', 'INVALID'],
      ['reference=v1', 'INVALID'],
    ];
    for (const [query, code] of cases) assertApiError(await app.inject({ method: 'GET', url: `/api/v1/manifest?${query}` }), 400, code);
  });
});
