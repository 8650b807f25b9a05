import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { after, before, describe, test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { newAccessToken } from '../../auth/accounts.ts';
import { SqliteUserStore } from '../../meta/sqlite-user-store.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { emptyLayerDiffId } from '../../oci/v1-image.ts';
import { V1LayerDigester } from '../../oci/v1-layer-digests.ts';
import { imageManifest, pushBlob, putManifest } from '../v2/test-registry.ts';
import { basic, sha256, startTestV1, type TestV1, type TestV1Image, tarOf, v1Image, v1Snapshot } from './test-v1.ts';

const json = (res: LightMyRequestResponse) => JSON.parse(res.body) as unknown;
const errorOf = (res: LightMyRequestResponse) => (JSON.parse(res.body) as { error: string }).error;

/** The docker 1.x upload of one image: json, layer, checksum, each answered 200. */
async function upload(t: TestV1, image: TestV1Image, headers: Record<string, string> = {}): Promise<void> {
  const put = (part: string, payload: string | Buffer, extra: Record<string, string> = {}) =>
    t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/${part}`, payload, headers: { ...headers, ...extra } });
  for (const res of [await put('json', image.json), await put('layer', image.gz), await put('checksum', '', { 'x-docker-checksum-payload': image.payload })]) {
    assert.equal(res.statusCode, 200, res.body);
  }
}

async function tagImage(t: TestV1, repo: string, tag: string, id: string, headers: Record<string, string> = {}): Promise<LightMyRequestResponse> {
  return t.app.inject({ method: 'PUT', url: `/v1/repositories/${repo}/tags/${tag}`, payload: JSON.stringify(id), headers });
}

describe('v1 with auth off', () => {
  let t: TestV1;
  before(async () => {
    t = await startTestV1();
  });
  after(() => t.close());

  test('_ping answers true with the registry version, standalone and the encrypted layer types', async () => {
    const res = await t.app.inject('/v1/_ping');
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'true');
    assert.equal(res.headers['x-docker-registry-version'], '0.9.1');
    assert.equal(res.headers['x-docker-registry-standalone'], 'true');
    assert.equal(res.headers['x-docker-encrypt'], [mediaTypes.ociLayerEncrypted, mediaTypes.ociLayerGzipEncrypted, mediaTypes.ociLayerZstdEncrypted].join(','));
    assert.equal((await t.app.inject('/v2/')).headers['x-docker-encrypt'], res.headers['x-docker-encrypt']);
  });

  test('a pushed chain pulls back on v1 and on v2 as a schema2 image of the same layers', async () => {
    const base = v1Image({ 'base.txt': 'base' });
    const top = v1Image({ 'top.txt': 'top' }, base.id);
    const start = await t.app.inject({ method: 'PUT', url: '/v1/repositories/app/chain/', payload: JSON.stringify([{ id: base.id }, { id: top.id }]), headers: { 'x-docker-token': 'true', host: 'registry.test:5000' } });
    assert.equal(start.statusCode, 200);
    assert.equal(start.headers['x-docker-endpoints'], 'registry.test:5000');
    assert.match(String(start.headers['x-docker-token']), /^signature=[^,]+,repository="app\/chain",access=write$/);
    assert.equal(start.headers['www-authenticate'], `Token ${start.headers['x-docker-token']}`);
    assert.match(String(start.headers['set-cookie']), /^session=[A-Za-z0-9_-]+; Path=\/v1\/; HttpOnly; SameSite=Strict$/);
    assert.equal((await t.app.inject(`/v1/images/${base.id}/json`)).statusCode, 404, 'absent: the client uploads it');
    await upload(t, base);
    await upload(t, top);
    assert.equal((await tagImage(t, 'app/chain', 'latest', top.id)).statusCode, 200);
    const done = await t.app.inject({ method: 'PUT', url: '/v1/repositories/app/chain/images', payload: JSON.stringify([{ id: top.id, checksum: top.payload }]) });
    assert.equal(done.statusCode, 204);

    assert.deepEqual(json(await t.app.inject('/v1/repositories/app/chain/tags')), { latest: top.id });
    assert.equal(json(await t.app.inject('/v1/repositories/app/chain/tags/latest')), top.id);
    assert.deepEqual(json(await t.app.inject(`/v1/images/${top.id}/ancestry`)), [top.id, base.id]);
    const got = await t.app.inject(`/v1/images/${top.id}/json`);
    assert.equal(got.body, top.json);
    assert.equal(got.headers['x-docker-size'], String(top.gz.length));
    assert.equal(got.headers['x-docker-checksum-payload'], top.payload);
    assert.match(String(got.headers['x-docker-checksum']), /^tarsum\+sha256:[a-f0-9]{64}$/);
    const layer = await t.app.inject(`/v1/images/${top.id}/layer`);
    assert.equal(layer.headers['accept-ranges'], 'bytes');
    assert.deepEqual(layer.rawPayload, top.gz);
    const list = json(await t.app.inject('/v1/repositories/app/chain/images')) as { id: string; checksum?: string }[];
    assert.deepEqual(list.map((i) => i.id).sort(), [base.id, top.id].sort());
    assert.equal(list.find((i) => i.id === top.id)?.checksum, top.payload);

    const v2 = await t.app.inject({ url: '/v2/app/chain/manifests/latest', headers: { accept: mediaTypes.dockerManifest } });
    assert.equal(v2.statusCode, 200);
    const manifest = json(v2) as { layers: { digest: string; mediaType: string }[]; config: { digest: string } };
    assert.deepEqual(manifest.layers.map((l) => l.digest), [sha256(base.gz), sha256(top.gz)]);
    assert.deepEqual(manifest.layers.map((l) => l.mediaType), [mediaTypes.dockerLayer, mediaTypes.dockerLayer]);
    const config = json(await t.app.inject(`/v2/app/chain/blobs/${manifest.config.digest}`)) as { rootfs: { diff_ids: string[] } };
    assert.deepEqual(config.rootfs.diff_ids, [sha256(base.tar), sha256(top.tar)]);
    assert.deepEqual((await t.app.inject(`/v2/app/chain/blobs/${sha256(top.gz)}`)).rawPayload, top.gz);
  });

  test('a layer pushed as a plain tar is served as uploaded and typed uncompressed on v2', async () => {
    const image = v1Image({ 'plain.txt': 'plain' });
    const plain = { ...image, gz: image.tar, payload: sha256(Buffer.concat([Buffer.from(`${image.json}\n`), image.tar])) };
    await upload(t, plain);
    assert.equal((await tagImage(t, 'app/plain', 'v1', image.id)).statusCode, 200);
    const manifest = json(await t.app.inject({ url: '/v2/app/plain/manifests/v1', headers: { accept: mediaTypes.dockerManifest } })) as { layers: { mediaType: string; digest: string }[] };
    assert.deepEqual(manifest.layers, [{ mediaType: mediaTypes.dockerLayerUncompressed, size: image.tar.length, digest: sha256(image.tar) }]);
  });

  test('a metadata-only step (empty layer) becomes empty_layer history, not a v2 layer', async () => {
    const base = v1Image({ 'a.txt': 'a' });
    const cmd = v1Image({}, base.id);
    assert.equal(sha256(gunzipSync(cmd.gz)), emptyLayerDiffId);
    await upload(t, base);
    await upload(t, cmd);
    assert.equal((await tagImage(t, 'app/cmd', 'latest', cmd.id)).statusCode, 200);
    const manifest = json(await t.app.inject({ url: '/v2/app/cmd/manifests/latest', headers: { accept: mediaTypes.dockerManifest } })) as { layers: unknown[]; config: { digest: string } };
    assert.equal(manifest.layers.length, 1);
    const config = json(await t.app.inject(`/v2/app/cmd/blobs/${manifest.config.digest}`)) as { history: { empty_layer?: boolean }[] };
    assert.deepEqual(config.history.map((h) => h.empty_layer ?? false), [false, true]);
    assert.deepEqual(json(await t.app.inject(`/v1/images/${cmd.id}/ancestry`)), [cmd.id, base.id], 'v1 keeps the whole chain');
  });

  test('a v2-pushed image is served on v1 under stable derived ids, with json, ancestry and layers', async () => {
    const layer1 = await pushBlob(t.app, 'v2/app', tarOf({ one: '1' }));
    const layer2 = await pushBlob(t.app, 'v2/app', tarOf({ two: '2' }));
    const configBody = JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      config: { Cmd: ['sh'] },
      rootfs: { type: 'layers', diff_ids: [layer1.digest, layer2.digest] },
      history: [{ created_by: 'one' }, { created_by: 'two' }],
    });
    const config = await pushBlob(t.app, 'v2/app', configBody);
    const body = imageManifest(config, [layer1, layer2]).replaceAll(mediaTypes.ociLayerGzip, mediaTypes.ociLayer);
    assert.equal((await putManifest(t.app, 'v2/app', 'v2', body)).statusCode, 201);
    const tags = json(await t.app.inject('/v1/repositories/v2/app/tags')) as Record<string, string>;
    assert.match(tags.v2, /^[a-f0-9]{64}$/);
    assert.deepEqual(json(await t.app.inject('/v1/repositories/v2/app/tags')), tags, 'stable');
    const ancestry = json(await t.app.inject(`/v1/images/${tags.v2}/ancestry`)) as string[];
    assert.equal(ancestry.length, 2);
    const top = json(await t.app.inject(`/v1/images/${ancestry[0]}/json`)) as { id: string; parent: string; config: unknown };
    assert.equal(top.parent, ancestry[1]);
    assert.deepEqual(top.config, { Cmd: ['sh'] });
    assert.deepEqual((await t.app.inject(`/v1/images/${ancestry[1]}/layer`)).rawPayload, tarOf({ one: '1' }));
    const copy = await putManifest(t.app, 'v2/copy', 'same', body);
    assert.equal(copy.statusCode, 400, 'v2 needs the blobs linked first');
    for (const blob of [layer1, layer2, config]) await pushBlob(t.app, 'v2/copy', blob.digest === config.digest ? configBody : blob.digest === layer1.digest ? tarOf({ one: '1' }) : tarOf({ two: '2' }));
    assert.equal((await putManifest(t.app, 'v2/copy', 'same', body)).statusCode, 201);
    assert.deepEqual(json(await t.app.inject('/v1/repositories/v2/copy/tags')), { same: tags.v2 }, 'the same content has the same ids in every repository');
  });

  test('a multi-platform index is served on v1 as its linux/amd64 image; images with no v1 form are left out', async () => {
    const pushOne = async (arch: string) => {
      const layer = await pushBlob(t.app, 'multi/app', tarOf({ arch }));
      const config = await pushBlob(t.app, 'multi/app', JSON.stringify({ architecture: arch, os: 'linux', rootfs: { type: 'layers', diff_ids: [layer.digest] } }));
      const res = await putManifest(t.app, 'multi/app', `only-${arch}`, imageManifest(config, [layer]).replaceAll(mediaTypes.ociLayerGzip, mediaTypes.ociLayer));
      return { digest: String(res.headers['docker-content-digest']), size: Buffer.byteLength(imageManifest(config, [layer]).replaceAll(mediaTypes.ociLayerGzip, mediaTypes.ociLayer)) };
    };
    const arm = await pushOne('arm64');
    const amd = await pushOne('amd64');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [
        { mediaType: mediaTypes.ociManifest, ...arm, platform: { os: 'linux', architecture: 'arm64' } },
        { mediaType: mediaTypes.ociManifest, ...amd, platform: { os: 'linux', architecture: 'amd64' } },
      ],
    });
    assert.equal((await putManifest(t.app, 'multi/app', 'multi', index, mediaTypes.ociIndex)).statusCode, 201);
    const zstdLayer = await pushBlob(t.app, 'multi/app', 'zstd bytes');
    const zstdConfig = await pushBlob(t.app, 'multi/app', JSON.stringify({ rootfs: { type: 'layers', diff_ids: [zstdLayer.digest] } }));
    const zstd = imageManifest(zstdConfig, [zstdLayer]).replaceAll(mediaTypes.ociLayerGzip, mediaTypes.ociLayerZstd);
    assert.equal((await putManifest(t.app, 'multi/app', 'zstd', zstd)).statusCode, 201);
    const tags = json(await t.app.inject('/v1/repositories/multi/app/tags')) as Record<string, string>;
    assert.deepEqual(Object.keys(tags).sort(), ['multi', 'only-amd64', 'only-arm64']);
    assert.equal(tags.multi, tags['only-amd64']);
  });

  test('layers are served with Range, as docker 1.x resumed them', async () => {
    const image = v1Image({ 'range.txt': 'r'.repeat(5000) });
    await upload(t, image);
    const part = await t.app.inject({ url: `/v1/images/${image.id}/layer`, headers: { range: 'bytes=10-19' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.headers['content-range'], `bytes 10-19/${image.gz.length}`);
    assert.deepEqual(part.rawPayload, image.gz.subarray(10, 20));
    const beyond = await t.app.inject({ url: `/v1/images/${image.id}/layer`, headers: { range: `bytes=${image.gz.length}-` } });
    assert.equal(beyond.statusCode, 416);
    assert.equal(beyond.headers['content-range'], `bytes */${image.gz.length}`);
  });

  test('checksums: the payload, a TarSum alone, one sent with the layer (clients before 0.7), and mismatches', async () => {
    const image = v1Image({ 'sum.txt': 'sum' });
    await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/json`, payload: image.json });
    const noLayer = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum`, headers: { 'x-docker-checksum-payload': image.payload } });
    assert.deepEqual([noLayer.statusCode, errorOf(noLayer)], [400, 'Checksum mismatch']);
    await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/layer`, payload: image.gz });
    const missing = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum` });
    assert.deepEqual([missing.statusCode, errorOf(missing)], [400, "Missing Image's checksum"]);
    const wrong = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum`, headers: { 'x-docker-checksum-payload': sha256('other') } });
    assert.deepEqual([wrong.statusCode, errorOf(wrong)], [400, 'Checksum mismatch']);
    assert.equal((await t.app.inject(`/v1/images/${image.id}/json`)).statusCode, 404, 'not pullable before its checksum is verified');
    const tarsum = await tarsumOf(image);
    const ok = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum`, headers: { 'x-docker-checksum': tarsum } });
    assert.equal(ok.statusCode, 200, ok.body);
    const again = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum`, headers: { 'x-docker-checksum': tarsum } });
    assert.deepEqual([again.statusCode, errorOf(again)], [409, 'Image already exists']);

    const old = v1Image({ 'old.txt': 'old' });
    await t.app.inject({ method: 'PUT', url: `/v1/images/${old.id}/json`, payload: old.json });
    const bad = await t.app.inject({ method: 'PUT', url: `/v1/images/${old.id}/layer`, payload: old.gz, headers: { 'x-docker-checksum': sha256('nope') } });
    assert.deepEqual([bad.statusCode, errorOf(bad)], [400, 'Checksum mismatch, ignoring the layer']);
    const good = await t.app.inject({ method: 'PUT', url: `/v1/images/${old.id}/layer`, payload: old.gz, headers: { 'x-docker-checksum': old.payload } });
    assert.equal(good.statusCode, 200);
    assert.equal((await t.app.inject(`/v1/images/${old.id}/json`)).statusCode, 200, 'complete with its layer');
  });

  test('an X-Docker-Sign value is kept as one v2 referrer of the tagged manifest and returned with the tag', async () => {
    const image = v1Image({ signed: 'yes' });
    await upload(t, image);
    assert.equal((await tagImage(t, 'sign/app', 'v1', image.id, { 'x-docker-sign': 'sig:first' })).statusCode, 200);
    assert.equal((await tagImage(t, 'sign/app', 'v1', image.id, { 'x-docker-sign': 'sig:second' })).statusCode, 200);
    const got = await t.app.inject('/v1/repositories/sign/app/tags/v1');
    assert.equal(got.headers['x-docker-sign'], 'sig:second');
    const digest = String((await t.app.inject({ method: 'HEAD', url: '/v2/sign/app/manifests/v1', headers: { accept: mediaTypes.dockerManifest } })).headers['docker-content-digest']);
    const referrers = json(await t.app.inject(`/v2/sign/app/referrers/${digest}`)) as { manifests: { artifactType: string }[] };
    assert.deepEqual(referrers.manifests.map((m) => m.artifactType), ['application/vnd.wharf.docker-sign.v1'], 'the second replaced the first');
    const bad = await tagImage(t, 'sign/app', 'v1', image.id, { 'x-docker-sign': 'x'.repeat(9000) });
    assert.equal(bad.statusCode, 400);
  });

  test('tags and repositories delete; the hub_registry_spec delete sequence', async () => {
    const image = v1Image({ gone: 'soon' });
    await upload(t, image);
    await tagImage(t, 'gone/app', 'x', image.id);
    await tagImage(t, 'gone/app', 'y', image.id);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/tags/x' })).statusCode, 200);
    const tagGone = await t.app.inject('/v1/repositories/gone/app/tags/x');
    assert.deepEqual([tagGone.statusCode, errorOf(tagGone)], [404, 'Tag not found']);
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/tags/x' })).statusCode, 404);
    const index = await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/', headers: { 'x-docker-token': 'true' } });
    assert.equal(index.statusCode, 202);
    assert.match(String(index.headers['x-docker-token']), /access=delete$/);
    assert.equal((await t.app.inject('/v1/repositories/gone/app/tags/y')).statusCode, 200, 'the index only marks it');
    const registry = await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/', headers: { authorization: `Token ${index.headers['x-docker-token']}` } });
    assert.equal(registry.statusCode, 200);
    assert.equal((await t.app.inject('/v1/repositories/gone/app/tags')).statusCode, 404);
    assert.equal((await t.app.inject('/v2/gone/app/tags/list')).statusCode, 404, 'gone from v2 too');
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/', headers: { 'x-docker-endpoints': 'r.test' } })).statusCode, 200, 'the index closes');
    assert.equal((await t.app.inject({ method: 'DELETE', url: '/v1/repositories/gone/app/' })).statusCode, 404);
    assert.equal((await t.app.inject(`/v1/images/${image.id}/json`)).statusCode, 200, 'images are global and stay (garbage collection decides)');
  });

  test('busybox and library/busybox are one repository, the one v2 clients call busybox', async () => {
    const image = v1Image({ bb: 'bb' });
    await upload(t, image);
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/repositories/busybox/', payload: JSON.stringify([{ id: image.id }]) })).statusCode, 200);
    assert.equal((await tagImage(t, 'busybox', 'latest', image.id)).statusCode, 200);
    assert.equal(json(await t.app.inject('/v1/repositories/library/busybox/tags/latest')), image.id);
    assert.equal((await t.app.inject({ url: '/v2/busybox/manifests/latest', headers: { accept: mediaTypes.dockerManifest } })).statusCode, 200);
  });

  test('search ranks name matches first, then description matches; pages; bad paging is 400', async () => {
    await t.app.inject({ method: 'PUT', url: '/v1/repositories/tools/searchme/', payload: '[]' });
    await t.app.inject({ method: 'PUT', url: '/v1/repositories/searchme-extra/', payload: '[]' });
    await t.app.inject({ method: 'PUT', url: '/v1/repositories/other/thing/', payload: '[]' });
    const meta = (t.registry as unknown as { meta: { setRepositoryDescription(n: string, d: string): Promise<void> } }).meta;
    await meta.setRepositoryDescription('other/thing', 'mentions searchme in passing');
    const res = await t.app.inject('/v1/search?q=searchme&n=2');
    const body = json(res) as { query: string; num_results: number; num_pages: number; page: number; page_size: number; results: { name: string; description: string; star_count: number; is_official: boolean; is_automated: boolean }[] };
    assert.equal(body.query, 'searchme');
    assert.equal(body.num_results, 3);
    assert.equal(body.num_pages, 2);
    assert.deepEqual(body.results.map((r) => r.name), ['tools/searchme', 'searchme-extra']);
    assert.deepEqual(Object.keys(body.results[0]).sort(), ['description', 'is_automated', 'is_official', 'name', 'star_count']);
    const page2 = json(await t.app.inject('/v1/search?q=searchme&n=2&page=2')) as { results: { name: string; description: string }[] };
    assert.deepEqual(page2.results, [{ name: 'other/thing', description: 'mentions searchme in passing', star_count: 0, is_official: false, is_automated: false }]);
    for (const bad of ['n=0', 'n=abc', 'page=-1', `q=${'x'.repeat(300)}`]) assert.equal((await t.app.inject(`/v1/search?${bad}`)).statusCode, 400, bad);
  });

  test('concurrent pushes of one repository both land', async () => {
    const a = v1Image({ a: 'a' });
    const b = v1Image({ b: 'b' });
    await Promise.all([upload(t, a), upload(t, b)]);
    const [ta, tb] = await Promise.all([tagImage(t, 'busy/app', 'a', a.id), tagImage(t, 'busy/app', 'b', b.id)]);
    assert.deepEqual([ta.statusCode, tb.statusCode], [200, 200]);
    assert.deepEqual(json(await t.app.inject('/v1/repositories/busy/app/tags')), { a: a.id, b: b.id });
  });
});

/** The TarSum docker 1.x would send as X-Docker-Checksum for this upload. */
async function tarsumOf(image: TestV1Image): Promise<string> {
  const digester = new V1LayerDigester(image.json);
  await pipeline(Readable.from([image.gz]), digester, new Writable({ write: (_c, _e, done) => done() }));
  return digester.sums.tarsums[0];
}

describe('v1 bad input: the v1 error shape, the right status, nothing half-stored', () => {
  let t: TestV1;
  before(async () => {
    t = await startTestV1();
  });
  after(() => t.close());

  const cases: [string, InjectOptions, number, RegExp][] = [];
  const id = randomBytes(32).toString('hex');
  const image = v1Image({ x: 'y' });
  cases.push(
    ['an id that is not 64 hex', { method: 'PUT', url: '/v1/images/not-hex/json', payload: '{}' }, 400, /64 lowercase hex/],
    ['an upper-case id', { method: 'GET', url: `/v1/images/${id.toUpperCase()}/json` }, 400, /64 lowercase hex/],
    ['an id one character long', { method: 'PUT', url: `/v1/images/${id}0/layer`, payload: 'x' }, 400, /64 lowercase hex/],
    ['json that is not JSON', { method: 'PUT', url: `/v1/images/${id}/json`, payload: 'not json' }, 400, /Invalid JSON/],
    ['json that is an array', { method: 'PUT', url: `/v1/images/${id}/json`, payload: '[]' }, 400, /Invalid JSON/],
    ['json for another id', { method: 'PUT', url: `/v1/images/${id}/json`, payload: image.json }, 400, /invalid id/],
    ['a parent that does not exist', { method: 'PUT', url: `/v1/images/${image.id}/json`, payload: JSON.stringify({ id: image.id, parent: id }) }, 400, /non existing parent/],
    ['a malformed parent', { method: 'PUT', url: `/v1/images/${image.id}/json`, payload: JSON.stringify({ id: image.id, parent: 'x' }) }, 400, /invalid parent/],
    ['json too large', { method: 'PUT', url: `/v1/images/${id}/json`, payload: JSON.stringify({ id, pad: 'x'.repeat(1024 * 1024) }) }, 413, /exceeds/],
    ['a layer before its json', { method: 'PUT', url: `/v1/images/${id}/layer`, payload: image.gz }, 404, /^Image not found$/],
    ['a checksum for an unknown image', { method: 'PUT', url: `/v1/images/${id}/checksum`, headers: { 'x-docker-checksum-payload': image.payload } }, 404, /^Image not found$/],
    ['an unknown image part', { method: 'GET', url: `/v1/images/${id}/files` }, 404, /no such image resource/],
    ['GET of a checksum', { method: 'GET', url: `/v1/images/${id}/checksum` }, 405, /method not allowed/],
    ['a bad tag', { method: 'PUT', url: `/v1/repositories/bad/app/tags/-bad`, payload: JSON.stringify(image.id) }, 400, /invalid tag/],
    ['a tag body that is not a JSON string', { method: 'PUT', url: '/v1/repositories/bad/app/tags/v1', payload: '{not json' }, 400, /^Invalid data/],
    ['a tag body that is no id', { method: 'PUT', url: '/v1/repositories/bad/app/tags/v1', payload: '"abc"' }, 400, /^Invalid data/],
    ['a tag pointing to a missing image', { method: 'PUT', url: '/v1/repositories/bad/app/tags/v1', payload: JSON.stringify(id) }, 404, /^Image not found$/],
    ['an image list that is not JSON', { method: 'PUT', url: '/v1/repositories/bad/app/', payload: '{not json' }, 400, /^Invalid data/],
    ['an image list with a bad id', { method: 'PUT', url: '/v1/repositories/bad/app/', payload: '[{"id":"../x"}]' }, 400, /64 hex/],
    ['an image list that is an object', { method: 'PUT', url: '/v1/repositories/bad/app/images', payload: '{"id":1}' }, 400, /must be an array/],
    ['an upper-case repository', { method: 'PUT', url: '/v1/repositories/Bad/App/', payload: '[]' }, 400, /invalid repository name/],
    ['a traversal in a repository name', { method: 'GET', url: '/v1/repositories/a%2F..%2Fetc/tags' }, 400, /invalid repository name/],
    ['tags of a repository that does not exist', { method: 'GET', url: '/v1/repositories/no/such/tags' }, 404, /^Repository not found$/],
    ['images of a repository that does not exist', { method: 'GET', url: '/v1/repositories/no/such/images' }, 404, /^Repository not found$/],
    ['an unknown route', { method: 'GET', url: '/v1/nothing/here' }, 404, /no route/],
    ['a method the route does not serve', { method: 'POST', url: '/v1/_ping' }, 405, /not allowed/],
    ['a user update body that is not JSON', { method: 'PUT', url: '/v1/users/someone/', payload: 'x' }, 401, /authentication required/],
  );

  for (const [what, request, status, message] of cases) {
    test(what, async () => {
      const before = await v1Snapshot(t);
      const res = await t.app.inject(request);
      assert.equal(res.statusCode, status, res.body);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.match(errorOf(res), message);
      assert.deepEqual(await v1Snapshot(t), before, 'nothing was stored');
    });
  }

  test('a layer that is not a tar, or an unsupported compression, is refused and leaves no blob', async () => {
    const good = v1Image({ a: 'b' });
    assert.equal((await t.app.inject({ method: 'PUT', url: `/v1/images/${good.id}/json`, payload: good.json })).statusCode, 200);
    const before = await v1Snapshot(t);
    for (const payload of [Buffer.from('plain text that is not a tar '.repeat(40)), Buffer.concat([Buffer.from('BZh9'), Buffer.alloc(64)]), good.gz.subarray(0, good.gz.length - 9)]) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/images/${good.id}/layer`, payload });
      assert.equal(res.statusCode, 400, res.body);
      assert.match(errorOf(res), /not a tar archive|not supported|not valid gzip/);
      assert.deepEqual(await v1Snapshot(t), before);
    }
  });

  test('an image ancestry cannot be made into a cycle', async () => {
    const a = v1Image({ a: 'a' });
    const b = v1Image({ b: 'b' }, a.id);
    assert.equal((await t.app.inject({ method: 'PUT', url: `/v1/images/${a.id}/json`, payload: a.json })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'PUT', url: `/v1/images/${b.id}/json`, payload: b.json })).statusCode, 200);
    const cycle = await t.app.inject({ method: 'PUT', url: `/v1/images/${a.id}/json`, payload: JSON.stringify({ id: a.id, parent: b.id }) });
    assert.deepEqual([cycle.statusCode, errorOf(cycle)], [400, 'Image depends on one of its descendants']);
  });

  test('a complete image is never replaced: docker 1.x reads "Image already exists" as "skip it"', async () => {
    await upload(t, image);
    const before = await v1Snapshot(t);
    for (const part of ['json', 'layer']) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/${part}`, payload: part === 'json' ? image.json : image.gz });
      assert.deepEqual([res.statusCode, errorOf(res)], [409, 'Image already exists']);
    }
    assert.deepEqual(await v1Snapshot(t), before);
  });

  test('a tag to an image whose chain is incomplete is refused and writes nothing', async () => {
    const base = v1Image({ base: 'b' });
    const top = v1Image({ top: 't' }, base.id);
    await t.app.inject({ method: 'PUT', url: `/v1/images/${base.id}/json`, payload: base.json });
    await upload(t, top);
    const before = await v1Snapshot(t);
    const res = await tagImage(t, 'half/app', 'v1', top.id);
    assert.deepEqual([res.statusCode, errorOf(res)], [404, 'Image not found']);
    assert.deepEqual(await v1Snapshot(t), before);
  });
});

describe('v1 with htpasswd-style auth (standalone Basic)', () => {
  let t: TestV1;
  before(async () => {
    t = await startTestV1({ auth: { mode: 'htpasswd', signup: true } });
    await t.addUser('alice', 'alice-pw');
    await t.addUser('bob', 'bob-pw');
    await t.addUser('root', 'root-pw', { admin: true });
  });
  after(() => t.close());

  test('ping says standalone; anonymous callers are asked for Basic', async () => {
    assert.equal((await t.app.inject('/v1/_ping')).headers['x-docker-registry-standalone'], 'true');
    const anonymous = await t.app.inject({ method: 'PUT', url: '/v1/repositories/alice/app/', payload: '[]' });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Basic realm="wharf"');
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/repositories/alice/app/', payload: '[]', headers: basic('alice', 'nope') })).statusCode, 401);
  });

  test('sign up (201, then the exact body docker 1.x looks for), log in, change the password', async () => {
    const body = JSON.stringify({ username: 'oldtimer', password: 'secret1', email: 'o@example.com' });
    const created = await t.app.inject({ method: 'POST', url: '/v1/users/', payload: body });
    assert.equal(created.statusCode, 201);
    const again = await t.app.inject({ method: 'POST', url: '/v1/users/', payload: body });
    assert.equal(again.statusCode, 400);
    assert.equal(again.body, '"Username or email already exists"');
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/users', payload: JSON.stringify({ username: 'ab', password: 'secret1' }) })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/users', payload: JSON.stringify({ username: 'newuser', password: 'abc' }) })).statusCode, 400);
    assert.equal((await t.app.inject({ method: 'POST', url: '/v1/users', payload: 'nope' })).statusCode, 400);
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('oldtimer', 'secret1') })).statusCode, 200);
    const wrong = await t.app.inject({ url: '/v1/users/', headers: basic('oldtimer', 'nope') });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.headers['www-authenticate'], 'Basic realm="wharf"');
    assert.equal((await t.app.inject({ url: '/v1/users/' })).statusCode, 401);
    const other = await t.app.inject({ method: 'PUT', url: '/v1/users/oldtimer/', payload: JSON.stringify({ password: 'hijack' }), headers: basic('bob', 'bob-pw') });
    assert.equal(other.statusCode, 403);
    const changed = await t.app.inject({ method: 'PUT', url: '/v1/users/oldtimer/', payload: JSON.stringify({ password: 'secret2' }), headers: basic('oldtimer', 'secret1') });
    assert.equal(changed.statusCode, 204);
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('oldtimer', 'secret2') })).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('oldtimer', 'secret1') })).statusCode, 401);
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/users/oldtimer', payload: JSON.stringify({ email: 'x@y' }), headers: basic('root', 'root-pw') })).statusCode, 204, 'an admin may');
  });

  test('a robot token cannot change an account, not its own nor (on an admin) anyone else\'s', async () => {
    const store = new SqliteUserStore(t.db);
    const robotOf = async (user: string) => {
      const created = newAccessToken();
      await store.addToken({ id: created.id, user, secretHash: created.secretHash, scopes: ['repository:**:pull'], description: 'ci', createdAt: '' });
      return created.password;
    };
    const aliceRobot = await robotOf('alice');
    const rootRobot = await robotOf('root');
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('alice', aliceRobot) })).statusCode, 200, 'the token logs in');
    const own = await t.app.inject({ method: 'PUT', url: '/v1/users/alice/', payload: JSON.stringify({ password: 'taken-over' }), headers: basic('alice', aliceRobot) });
    assert.deepEqual([own.statusCode, errorOf(own)], [403, 'a robot token cannot change an account: log in with the password']);
    const other = await t.app.inject({ method: 'PUT', url: '/v1/users/bob/', payload: JSON.stringify({ password: 'taken-over' }), headers: basic('root', rootRobot) });
    assert.equal(other.statusCode, 403);
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('alice', 'alice-pw') })).statusCode, 200, 'passwords unchanged');
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('bob', 'bob-pw') })).statusCode, 200);
    assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('bob', 'taken-over') })).statusCode, 401);
  });

  test('the ACL decides: alice pushes under alice/, may not push elsewhere, and her images read only where she may pull', async () => {
    const image = v1Image({ alice: 'private' });
    const start = await t.app.inject({ method: 'PUT', url: '/v1/repositories/alice/app/', payload: JSON.stringify([{ id: image.id }]), headers: basic('alice', 'alice-pw') });
    assert.equal(start.statusCode, 200);
    await upload(t, image, basic('alice', 'alice-pw'));
    assert.equal((await tagImage(t, 'alice/app', 'v1', image.id, basic('alice', 'alice-pw'))).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'PUT', url: '/v1/repositories/bob/app/', payload: '[]', headers: basic('alice', 'alice-pw') })).statusCode, 403);
    assert.equal((await t.app.inject({ url: `/v1/images/${image.id}/json`, headers: basic('bob', 'bob-pw') })).statusCode, 200, 'signed-in users pull everything by default');
    assert.equal((await t.app.inject({ url: `/v1/images/${image.id}/json` })).statusCode, 401, 'anonymous pulls are off');
  });
});

describe('v1 PUT /v1/users/<name>/ on a name the htpasswd file holds', () => {
  test('is not managed here (404), even with a store row of the same name: the file\'s entry wins', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wharf-v1-htpasswd-'));
    const file = join(dir, 'htpasswd');
    writeFileSync(file, execFileSync('htpasswd', ['-nbB', 'filed', 'file-pw']).toString());
    const t = await startTestV1({ auth: { mode: 'htpasswd', htpasswd: file } });
    try {
      await t.addUser('filed', 'store-pw');
      const put = await t.app.inject({ method: 'PUT', url: '/v1/users/filed/', payload: JSON.stringify({ password: 'new-pw' }), headers: basic('filed', 'file-pw') });
      assert.equal(put.statusCode, 404);
      assert.match(errorOf(put), /not managed here/);
      assert.equal((await t.app.inject({ url: '/v1/users/', headers: basic('filed', 'file-pw') })).statusCode, 200);
    } finally {
      await t.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('v1 in index mode (auth token): the index hands out X-Docker-Token, the registry takes it and its cookie', () => {
  let t: TestV1;
  before(async () => {
    t = await startTestV1({
      auth: {
        mode: 'token',
        acl: [
          { match: { account: 'alice' }, actions: ['*'] },
          { match: { account: 'bob', name: 'shared/*' }, actions: ['pull'] },
          { match: { account: 'carol', name: 'shared/*' }, actions: ['pull'] },
        ],
      },
    });
    await t.addUser('alice', 'alice-pw');
    await t.addUser('bob', 'bob-pw');
  });
  after(() => t.close());

  test('ping is not standalone; the push seed sequence runs on the token, then on the cookie alone', async () => {
    assert.equal((await t.app.inject('/v1/_ping')).headers['x-docker-registry-standalone'], 'false');
    const base = v1Image({ base: 'shared base' });
    const top = v1Image({ top: 'shared top' }, base.id);
    const start = await t.app.inject({ method: 'PUT', url: '/v1/repositories/shared/app/', payload: JSON.stringify([{ id: base.id }, { id: top.id }]), headers: { ...basic('alice', 'alice-pw'), 'x-docker-token': 'true' } });
    assert.equal(start.statusCode, 200, start.body);
    const token = String(start.headers['x-docker-token']);
    const cookie = String(start.headers['set-cookie']).split(';')[0];
    await upload(t, base, { authorization: `Token ${token}` });
    const withToken = await t.app.inject({ url: `/v1/images/${base.id}/json`, headers: { authorization: `Token ${token}` } });
    assert.match(String(withToken.headers['set-cookie']), /^session=/, 'a verified token gets a session cookie');
    await upload(t, top, { cookie });
    const stale = await t.app.inject({ url: `/v1/images/${top.id}/json`, headers: { authorization: 'Token signature=0.x.y,repository="shared/app",access=write', cookie } });
    assert.equal(stale.statusCode, 200, 'a token that no longer verifies is carried by the session cookie');
    assert.match(String(stale.headers['set-cookie']), /^session=/, 'and the session is renewed');
    assert.equal((await t.app.inject({ url: `/v1/images/${top.id}/json`, headers: { authorization: 'Token signature=0.x.y,repository="shared/app",access=write' } })).statusCode, 401);
    assert.equal((await tagImage(t, 'shared/app', 'latest', top.id, { cookie })).statusCode, 200);
    assert.equal((await tagImage(t, 'elsewhere/app', 'latest', top.id, { cookie })).statusCode, 403, 'the grant is bound to its repository');
    const anonymous = await t.app.inject(`/v1/images/${top.id}/json`);
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.headers['www-authenticate'], 'Token', 'registry routes in index mode challenge for Token');
    const done = await t.app.inject({ method: 'PUT', url: '/v1/repositories/shared/app/images', payload: JSON.stringify([{ id: top.id, checksum: top.payload }]), headers: { ...basic('alice', 'alice-pw'), 'x-docker-token': 'true' } });
    assert.equal(done.statusCode, 204);
  });

  test('the pull seed sequence with a read token; a tampered token or a read token for writing is refused', async () => {
    const index = await t.app.inject({ url: '/v1/repositories/shared/app/images', headers: { ...basic('bob', 'bob-pw'), 'x-docker-token': 'true' } });
    assert.equal(index.statusCode, 200);
    const token = String(index.headers['x-docker-token']);
    assert.match(token, /repository="shared\/app",access=read$/);
    const auth = { authorization: `Token ${token}` };
    const id = json(await t.app.inject({ url: '/v1/repositories/shared/app/tags/latest', headers: auth })) as string;
    const ancestry = json(await t.app.inject({ url: `/v1/images/${id}/ancestry`, headers: auth })) as string[];
    assert.equal(ancestry.length, 2);
    for (const image of ancestry) {
      assert.equal((await t.app.inject({ url: `/v1/images/${image}/json`, headers: auth })).statusCode, 200);
      assert.equal((await t.app.inject({ url: `/v1/images/${image}/layer`, headers: auth })).statusCode, 200);
    }
    const tampered = await t.app.inject({ url: '/v1/repositories/shared/app/tags', headers: { authorization: `Token ${token.replace('access=read', 'access=write')}` } });
    assert.equal(tampered.statusCode, 401);
    const write = await tagImage(t, 'shared/app', 'hijack', id, auth);
    assert.equal(write.statusCode, 403);
    const bobPush = await t.app.inject({ method: 'PUT', url: '/v1/repositories/shared/app/', payload: '[]', headers: { ...basic('bob', 'bob-pw'), 'x-docker-token': 'true' } });
    assert.equal(bobPush.statusCode, 403);
  });

  test('a token and session cookie of an account disabled or deleted since stop working at once', async () => {
    await t.addUser('carol', 'carol-pw');
    const index = await t.app.inject({ url: '/v1/repositories/shared/app/images', headers: { ...basic('carol', 'carol-pw'), 'x-docker-token': 'true' } });
    assert.equal(index.statusCode, 200);
    const auth = { authorization: `Token ${index.headers['x-docker-token']}` };
    const first = await t.app.inject({ url: '/v1/repositories/shared/app/tags', headers: auth });
    assert.equal(first.statusCode, 200);
    const cookie = String(first.headers['set-cookie']).split(';')[0];
    t.db.exec("UPDATE users SET disabled = 1 WHERE name = 'carol'");
    assert.equal((await t.app.inject({ url: '/v1/repositories/shared/app/tags', headers: auth })).statusCode, 401);
    assert.equal((await t.app.inject({ url: '/v1/repositories/shared/app/tags', headers: { cookie } })).statusCode, 401);
    t.db.exec("DELETE FROM users WHERE name = 'carol'");
    assert.equal((await t.app.inject({ url: '/v1/repositories/shared/app/tags', headers: auth })).statusCode, 401);
  });

  test("an image held only by a repository the caller may not pull is not readable, not claimable, and not replaceable", async () => {
    const secret = v1Image({ secret: 'alice only' });
    const start = await t.app.inject({ method: 'PUT', url: '/v1/repositories/alice/secret/', payload: JSON.stringify([{ id: secret.id }]), headers: { ...basic('alice', 'alice-pw'), 'x-docker-token': 'true' } });
    const aliceToken = { authorization: `Token ${start.headers['x-docker-token']}` };
    await upload(t, secret, aliceToken);
    assert.equal((await tagImage(t, 'alice/secret', 'v1', secret.id, aliceToken)).statusCode, 200);
    const bobRead = await t.app.inject({ url: `/v1/images/${secret.id}/layer`, headers: basic('bob', 'bob-pw') });
    assert.equal(bobRead.statusCode, 404, 'bob may not pull alice/secret, so the image is not there for him');
    const unfinished = v1Image({ wip: 'in progress' });
    await t.app.inject({ method: 'PUT', url: `/v1/images/${unfinished.id}/json`, payload: unfinished.json, headers: aliceToken });
    const replace = await t.app.inject({ method: 'PUT', url: `/v1/images/${unfinished.id}/json`, payload: unfinished.json, headers: basic('bob', 'bob-pw') });
    assert.deepEqual([replace.statusCode, errorOf(replace)], [409, 'Image is being uploaded by another push']);
  });
});

describe('v1 on a pull-through cache: writes to mirrored names are refused as on v2', () => {
  const upstream = 'http://127.0.0.1:9';
  let t: TestV1;
  before(async () => {
    t = await startTestV1({ registry: { proxy: { upstreams: [{ prefix: 'up/', url: upstream }] } } });
  });
  after(() => t.close());

  const refused = (method: string, name: string) => `${method} is not supported: ${name} is a pull-through cache of ${upstream}`;

  test('the push sequence, tags and deletes answer 405 with the v1 error naming the cache, and write nothing', async () => {
    const image = v1Image({ mirrored: 'no' });
    const list = JSON.stringify([{ id: image.id }]);
    const requests: InjectOptions[] = [
      { method: 'PUT', url: '/v1/repositories/up/app/', payload: list, headers: { 'x-docker-token': 'true' } },
      { method: 'PUT', url: '/v1/repositories/up/app/images', payload: list },
      { method: 'PUT', url: '/v1/repositories/up/app/tags/latest', payload: JSON.stringify(image.id) },
      { method: 'DELETE', url: '/v1/repositories/up/app/tags/latest' },
      { method: 'DELETE', url: '/v1/repositories/up/app/', headers: { 'x-docker-token': 'true' } },
      { method: 'DELETE', url: '/v1/repositories/up/app/' },
    ];
    const before = await v1Snapshot(t);
    for (const request of requests) {
      const res = await t.app.inject(request);
      assert.equal(res.statusCode, 405, `${request.method} ${request.url}: ${res.body}`);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(errorOf(res), refused(String(request.method), 'up/app'));
      assert.equal(res.headers['x-docker-token'], undefined, 'no token for a name that takes no writes');
    }
    assert.deepEqual(await v1Snapshot(t), before, 'nothing was stored');
  });

  test('image uploads of a push session bound to a mirrored name are refused; other names push as before', async () => {
    const image = v1Image({ mirrored: 'session' });
    // A write grant for the name, as a replica whose configuration does not mirror it would have issued.
    const headers = { authorization: `Token ${t.indexTokens.issue({ repository: 'up/app', access: 'write' })}` };
    const before = await v1Snapshot(t);
    for (const [part, payload] of [['json', image.json], ['layer', image.gz], ['checksum', '']] as const) {
      const res = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/${part}`, payload, headers: { ...headers, 'x-docker-checksum-payload': image.payload } });
      assert.equal(res.statusCode, 405, `${part}: ${res.body}`);
      assert.equal(errorOf(res), refused('PUT', 'up/app'));
    }
    assert.deepEqual(await v1Snapshot(t), before, 'nothing was stored');
    const start = await t.app.inject({ method: 'PUT', url: '/v1/repositories/mine/app/', payload: JSON.stringify([{ id: image.id }]), headers: { 'x-docker-token': 'true' } });
    assert.equal(start.statusCode, 200, start.body);
    await upload(t, image, { authorization: `Token ${start.headers['x-docker-token']}` });
    assert.equal((await tagImage(t, 'mine/app', 'latest', image.id)).statusCode, 200);
  });
});
