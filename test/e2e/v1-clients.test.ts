import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { after, before, describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { V1Client, type V1PushImage } from '../../src/client/v1/v1-client.ts';
import { sha256, type TestV1Image, v1Image } from '../../src/registry/v1/test-v1.ts';
import { buildBusyboxRootfsTar, importBusybox, makeRandomLayerImage } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { skopeoCopy, skopeoInspect, skopeoInspectRaw, skopeoOk } from '../support/skopeo.ts';
import { startTestWharf, type TestWharf } from '../support/wharf.ts';

// Real clients on both sides of the bridge: wharf's v1 client (docker 1.x's sequences) against skopeo and a real
// dockerd speaking v2, on one wharf.

const pushable = (image: TestV1Image): V1PushImage => ({ id: image.id, json: image.json, layer: () => image.gz });

describe('v1 and v2 clients on one store', () => {
  let wharf: TestWharf;
  let dockerd: Dockerd;
  let dir: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-v1-e2e-'));
    [wharf, dockerd] = await Promise.all([startTestWharf(), startDockerd()]);
  });
  after(async () => {
    await Promise.all([wharf?.close(), dockerd?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test('a chain pushed with v1 is a schema2 image to skopeo, with the layers as uploaded and their diff_ids', async () => {
    const base = v1Image({ 'hello.txt': 'from v1' });
    const top = v1Image({ 'top.txt': 'on top' }, base.id);
    const client = new V1Client(wharf.url);
    await client.push('bridge/v1-to-v2', [pushable(base), pushable(top)], 'v1');
    assert.deepEqual(
      client.log.map((c) => `${c.method} ${c.path} ${c.status}`),
      [
        'PUT /v1/repositories/bridge/v1-to-v2/ 200',
        `GET /v1/images/${base.id}/json 404`,
        `PUT /v1/images/${base.id}/json 200`,
        `PUT /v1/images/${base.id}/layer 200`,
        `PUT /v1/images/${base.id}/checksum 200`,
        `GET /v1/images/${top.id}/json 404`,
        `PUT /v1/images/${top.id}/json 200`,
        `PUT /v1/images/${top.id}/layer 200`,
        `PUT /v1/images/${top.id}/checksum 200`,
        'PUT /v1/repositories/bridge/v1-to-v2/tags/v1 200',
        'PUT /v1/repositories/bridge/v1-to-v2/images 204',
      ],
    );
    const checksum = client.log.find((c) => c.path.endsWith(`${top.id}/checksum`))?.requestHeaders;
    assert.match(checksum?.['x-docker-checksum'] ?? '', /^tarsum\+sha256:[a-f0-9]{64}$/, 'the TarSum docker 1.x sent, accepted beside the payload');
    const ref = `docker://${wharf.host}/bridge/v1-to-v2:v1`;
    const raw = JSON.parse(await skopeoInspectRaw(ref));
    assert.equal(raw.mediaType, 'application/vnd.docker.distribution.manifest.v2+json');
    assert.deepEqual(raw.layers.map((l: { digest: string }) => l.digest), [sha256(base.gz), sha256(top.gz)]);
    const config = JSON.parse(await skopeoOk(['inspect', '--config', '--tls-verify=false', ref]));
    assert.deepEqual(config.rootfs.diff_ids, [sha256(base.tar), sha256(top.tar)]);
    await skopeoCopy(ref, `oci:${join(dir, 'from-v1')}:v1`);
  });

  test('an image pushed with skopeo pulls with v1 under stable ids, its layer verified against X-Docker-Size', async () => {
    const image = await makeRandomLayerImage(join(dir, 'v2src'), { layerBytes: 200_000, format: 'oci' });
    await skopeoCopy(image.ref, `docker://${wharf.host}/bridge/v2-to-v1:v2`, { preserveDigests: true });
    const client = new V1Client(wharf.url);
    const first = await client.pull('bridge/v2-to-v1', 'v2');
    const again = await new V1Client(wharf.url).pull('bridge/v2-to-v1', 'v2');
    assert.deepEqual(first.map((i) => i.id), again.map((i) => i.id));
    assert.equal(first.length, 1);
    assert.equal(first[0].size, image.layer.size);
    const layer = await buffer(await client.openLayer(first[0]));
    assert.equal(sha256(layer), image.layer.digest);
  });

  test('docker pull through a real dockerd fetches what a v1 client pushed, and runs it', async () => {
    const rootfs = readFileSync(await buildBusyboxRootfsTar(dir));
    const image = v1Image({}, undefined, { config: { Cmd: ['sh'] } });
    const busybox: TestV1Image = { ...image, tar: rootfs, gz: gzipSync(rootfs) };
    await new V1Client(wharf.url).push('busybox', [pushable(busybox)], 'v1');
    const ref = `${wharf.host}/busybox:v1`;
    await dockerd.dockerOk(['pull', ref]);
    const layers = await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', ref]);
    assert.deepEqual(JSON.parse(layers), [sha256(rootfs)]);
    assert.equal((await dockerd.dockerOk(['run', '--rm', '--network', 'none', ref, 'echo', 'pushed with v1'])).trim(), 'pushed with v1');
  });

  test('an image docker pushed (v2) pulls with v1: ancestry, json and a layer matching the v2 blob', async () => {
    await importBusybox(dockerd, `${wharf.host}/bridge/from-docker:v2`);
    await dockerd.dockerOk(['push', `${wharf.host}/bridge/from-docker:v2`]);
    const client = new V1Client(wharf.url);
    const chain = await client.pull('bridge/from-docker', 'v2');
    assert.equal(chain.length, 1);
    assert.deepEqual((JSON.parse(chain[0].json) as { config: { Cmd: string[] } }).config.Cmd, ['sh']);
    const layer = await buffer(await client.openLayer(chain[0]));
    const manifest = JSON.parse(await skopeoInspectRaw(`docker://${wharf.host}/bridge/from-docker:v2`));
    assert.equal(sha256(layer), manifest.layers[0].digest);
  });

  test('docker search HOST/term goes to /v1/search and lists v1 and v2 pushes, name matches first', async () => {
    const out = await dockerd.dockerOk(['search', '--format', '{{.Name}}', `${wharf.host}/bridge`]);
    assert.deepEqual(out.trim().split('\n').sort(), ['bridge/from-docker', 'bridge/v1-to-v2', 'bridge/v2-to-v1']);
    const none = await dockerd.dockerOk(['search', '--format', '{{.Name}}', `${wharf.host}/no-such-thing`]);
    assert.equal(none.trim(), '');
  });

  test('concurrent v1 pushes of one repository both land, on v1 and on v2', async () => {
    const a = v1Image({ a: 'a' });
    const b = v1Image({ b: 'b' });
    await Promise.all([new V1Client(wharf.url).push('busy/app', [pushable(a)], 'a'), new V1Client(wharf.url).push('busy/app', [pushable(b)], 'b')]);
    const tags = JSON.parse((await new V1Client(wharf.url).request('GET', '/v1/repositories/busy/app/tags')).body);
    assert.deepEqual(tags, { a: a.id, b: b.id });
    assert.deepEqual(((await skopeoInspect(`docker://${wharf.host}/busy/app:a`)) as { Layers: string[] }).Layers, [sha256(a.gz)]);
  });

  test('pushing a chain whose base is already there skips it ("Image already pushed")', async () => {
    const base = v1Image({ shared: 'base' });
    const first = v1Image({ one: '1' }, base.id);
    const second = v1Image({ two: '2' }, base.id);
    await new V1Client(wharf.url).push('reuse/one', [pushable(base), pushable(first)], 'latest');
    const { skipped } = await new V1Client(wharf.url).push('reuse/two', [pushable(base), pushable(second)], 'latest');
    assert.deepEqual(skipped, [base.id]);
    assert.equal((await new V1Client(wharf.url).pull('reuse/two', 'latest')).length, 2);
  });
});

describe('v1 and v2 share users and ACLs (auth token)', () => {
  let wharf: TestWharf;
  let dockerd: Dockerd;

  before(async () => {
    [wharf, dockerd] = await Promise.all([startTestWharf({ auth: { mode: 'token', signup: true } }), startDockerd()]);
  });
  after(() => Promise.all([wharf?.close(), dockerd?.stop()]));

  test('docker 1.x login signs up, pushes under its namespace; docker login + pull on v2 get the same image', async () => {
    const alice = new V1Client(wharf.url, { credentials: { username: 'alice', password: 'alice-pw' } });
    assert.equal(await alice.login('alice@example.com'), 'created');
    assert.equal(await new V1Client(wharf.url, { credentials: { username: 'alice', password: 'alice-pw' } }).login(), 'logged-in');
    await assert.rejects(new V1Client(wharf.url, { credentials: { username: 'alice', password: 'wrong' } }).login(), /Wrong login\/password/);
    const image = v1Image({ 'alice.txt': 'mine' });
    await alice.push('alice/app', [pushable(image)], 'v1', { sign: 'alice-signature' });
    const bob = new V1Client(wharf.url, { credentials: { username: 'bobby', password: 'bobby-pw' } });
    await bob.login();
    await assert.rejects(bob.push('alice/app', [pushable(v1Image({ bob: 'x' }))], 'hijack'), /403/);
    const pulled = await bob.pull('alice/app', 'v1');
    assert.deepEqual(pulled.map((i) => i.id), [image.id], 'signed-in users pull everything by default');
    const tag = await bob.request('GET', '/v1/repositories/alice/app/tags/v1', { registry: true });
    assert.equal(tag.headers.get('x-docker-sign'), 'alice-signature');

    await dockerd.dockerOk(['login', '-u', 'alice', '--password-stdin', wharf.host], { input: 'alice-pw\n' });
    await dockerd.dockerOk(['pull', `${wharf.host}/alice/app:v1`]);
    const layers = await dockerd.dockerOk(['image', 'inspect', '--format', '{{json .RootFS.Layers}}', `${wharf.host}/alice/app:v1`]);
    assert.deepEqual(JSON.parse(layers), [sha256(image.tar)]);
    const anonymous = await new V1Client(wharf.url).request('GET', `/v1/images/${image.id}/json`);
    assert.equal(anonymous.status, 401);
  });
});
