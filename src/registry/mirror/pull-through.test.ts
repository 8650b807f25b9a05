import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { type Distribution, startDistribution } from '../../../test/support/distribution.ts';
import { waitFor } from '../../../test/support/ports.ts';
import { startTcpRelay, type TcpRelay } from '../../../test/support/tcp-relay.ts';
import { parsePrometheusText } from '../../../test/support/prometheus-text.ts';
import { postBlob, pushTinyImage, uploadTinyBlob, uploadTinyImage } from '../../../test/support/tiny-image.ts';
import { startTestWharf, type TestWharf } from '../../../test/support/wharf.ts';

const ociManifest = 'application/vnd.oci.image.manifest.v1+json';
const accept = { accept: `${ociManifest}, application/vnd.oci.image.index.v1+json` };
const sha256 = (body: Buffer | string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const ttlSeconds = 3;

interface Manifest {
  config: { digest: string };
  layers: { digest: string; size: number }[];
}

// wharf mirrors `up/<name>` from a real distribution 2.8 (its access log counts what the mirror asked), and keeps
// every other name an ordinary private repository.
describe('pull-through cache in front of distribution 2.8', () => {
  let upstream: Distribution;
  let mirror: TestWharf;
  let v1: string;

  before(async () => {
    upstream = await startDistribution({ accessLog: true });
    v1 = await uploadTinyImage(upstream.url, 'team/app', 'v1', 'first');
    mirror = await startTestWharf({ config: { registry: { proxy: { upstreams: [{ prefix: 'up/', url: upstream.url }], tagTtlSeconds: ttlSeconds } } } });
  });
  after(async () => {
    await mirror?.close();
    await upstream?.close();
  });

  /** GET/HEAD requests the upstream answered under `/v2/<path>`. */
  const asked = (method: string, path: string) => upstream.requests().filter((r) => r.method === method && r.path === `/v2/${path}`).length;
  const settle = () => sleep(300);

  async function pullManifest(reference: string): Promise<{ digest: string; body: Buffer; manifest: Manifest }> {
    const res = await fetch(`${mirror.url}/v2/up/team/app/manifests/${reference}`, { headers: accept });
    assert.equal(res.status, 200, await res.clone().text());
    const body = Buffer.from(await res.arrayBuffer());
    assert.equal(res.headers.get('docker-content-digest'), sha256(body));
    return { digest: sha256(body), body, manifest: JSON.parse(body.toString()) as Manifest };
  }

  async function pullBlob(digest: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(`${mirror.url}/v2/up/team/app/blobs/${digest}`, { headers });
  }

  it('pulls by tag through the mirror: the manifest and blobs are the upstream’s bytes, fetched once', async () => {
    const { digest, body, manifest } = await pullManifest('v1');
    assert.equal(digest, v1);
    const direct = await fetch(`${upstream.url}/v2/team/app/manifests/${v1}`, { headers: accept });
    assert.deepEqual(Buffer.from(await direct.arrayBuffer()), body);
    for (const { digest: blob } of [manifest.config, ...manifest.layers]) {
      const res = await pullBlob(blob);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('docker-content-digest'), blob);
      assert.equal(res.headers.get('etag'), `"${blob}"`);
      assert.equal(res.headers.get('accept-ranges'), 'bytes');
      const bytes = Buffer.from(await res.arrayBuffer());
      assert.equal(Number(res.headers.get('content-length')), bytes.length);
      assert.equal(sha256(bytes), blob);
      await waitFor('the upstream GET of the blob', async () => asked('GET', `team/app/blobs/${blob}`) === 1, 5000);
    }
    assert.equal(asked('HEAD', 'team/app/manifests/v1'), 1);
    assert.equal(asked('GET', `team/app/manifests/${v1}`), 2); // the mirror's, and the direct one above
  });

  it('serves the second pull (by tag within the TTL, and by digest) from the cache', async () => {
    // Past the TTL first, so that this pull re-checks the tag and the pulls below are within the TTL it starts,
    // however long the test above took (a pull within the TTL does not start it again).
    await sleep(ttlSeconds * 1000 + 200);
    await pullManifest('v1');
    await settle();
    const before = upstream.requests().length;
    const { manifest } = await pullManifest('v1');
    await pullManifest(v1);
    for (const { digest } of [manifest.config, ...manifest.layers]) {
      const res = await pullBlob(digest);
      assert.equal(sha256(Buffer.from(await res.arrayBuffer())), digest);
    }
    await settle();
    assert.equal(upstream.requests().length, before);
  });

  it('pulls by digest, answers HEAD of a cold blob from an upstream HEAD and a Range of one with 206', async () => {
    const other = await uploadTinyImage(upstream.url, 'team/app', 'other', 'by-digest');
    const { manifest } = await pullManifest(other);
    const layer = manifest.layers[0];
    const head = await fetch(`${mirror.url}/v2/up/team/app/blobs/${layer.digest}`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(Number(head.headers.get('content-length')), layer.size);
    await waitFor('the upstream HEAD', async () => asked('HEAD', `team/app/blobs/${layer.digest}`) === 1, 5000);
    assert.equal(asked('GET', `team/app/blobs/${layer.digest}`), 0);
    const ranged = await pullBlob(layer.digest, { range: 'bytes=2-5' });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 2-5/${layer.size}`);
    assert.equal(await ranged.text(), 'layer by-digest'.slice(2, 6));
  });

  it('fetches a cold manifest and blob once for concurrent pulls', async () => {
    const digest = await uploadTinyImage(upstream.url, 'team/app', 'crowd', 'crowd');
    const pulls = await Promise.all(Array.from({ length: 6 }, () => pullManifest('crowd')));
    for (const pull of pulls) assert.equal(pull.digest, digest);
    const big = await uploadTinyBlob(upstream.url, 'team/app', Buffer.alloc(3 * 1024 * 1024, 7));
    const bodies = await Promise.all(Array.from({ length: 6 }, async () => Buffer.from(await (await pullBlob(big.digest)).arrayBuffer())));
    for (const body of bodies) assert.equal(sha256(body), big.digest);
    await settle();
    assert.equal(asked('HEAD', 'team/app/manifests/crowd'), 1);
    assert.equal(asked('GET', `team/app/manifests/${digest}`), 1);
    assert.equal(asked('GET', `team/app/blobs/${big.digest}`), 1);
  });

  it('sees a tag moved upstream after the TTL, and not before', async () => {
    // Past the TTL first, so this pull re-checks and the TTL runs from it, however long the tests above took.
    await sleep(ttlSeconds * 1000 + 200);
    await pullManifest('v1');
    const moved = await uploadTinyImage(upstream.url, 'team/app', 'v1', 'second');
    assert.equal((await pullManifest('v1')).digest, v1);
    await sleep(ttlSeconds * 1000 + 200);
    assert.equal((await pullManifest('v1')).digest, moved);
    assert.equal((await pullManifest(v1)).digest, v1, 'the old digest stays pullable');
    v1 = moved;
  });

  it('answers MANIFEST_UNKNOWN and BLOB_UNKNOWN for what the upstream does not have', async () => {
    const res = await fetch(`${mirror.url}/v2/up/team/nothing/manifests/v1`, { headers: accept });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0].code, 'MANIFEST_UNKNOWN');
    for (const method of ['GET', 'HEAD']) {
      const blob = await fetch(`${mirror.url}/v2/up/team/app/blobs/${sha256('nowhere')}`, { method });
      assert.equal(blob.status, 404, method);
      if (method === 'GET') assert.equal(((await blob.json()) as { errors: { code: string }[] }).errors[0].code, 'BLOB_UNKNOWN');
    }
  });

  it('serves a blob stored for another repository only when the upstream has it under the mirrored name', async () => {
    const secret = await postBlob(mirror.url, 'mine/app', Buffer.from('pushed to a private repository only'));
    for (const method of ['GET', 'HEAD']) {
      const res = await fetch(`${mirror.url}/v2/up/team/app/blobs/${secret.digest}`, { method });
      assert.equal(res.status, 404, method);
      if (method === 'GET') assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0].code, 'BLOB_UNKNOWN');
    }
    await waitFor('the upstream HEADs', async () => asked('HEAD', `team/app/blobs/${secret.digest}`) === 2, 5000);
    assert.equal(asked('GET', `team/app/blobs/${secret.digest}`), 0);

    const shared = Buffer.from('a layer both the upstream and a private repository hold');
    const local = await postBlob(mirror.url, 'mine/app', shared);
    await uploadTinyBlob(upstream.url, 'team/app', shared);
    const res = await pullBlob(local.digest);
    assert.equal(res.status, 200);
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), shared);
    await waitFor('the upstream HEAD', async () => asked('HEAD', `team/app/blobs/${local.digest}`) === 1, 5000);
    const again = await pullBlob(local.digest);
    assert.deepEqual(Buffer.from(await again.arrayBuffer()), shared);
    await settle();
    assert.equal(asked('HEAD', `team/app/blobs/${local.digest}`), 1, 'linked now: asked once');
    assert.equal(asked('GET', `team/app/blobs/${local.digest}`), 0, 'never fetched: the bytes were stored');
  });

  it('refuses writes on mirrored names with 405 UNSUPPORTED, and keeps other names pushable', async () => {
    const name = `${mirror.url}/v2/up/team/app`;
    const writes: [string, string, string | undefined][] = [
      ['POST', `${name}/blobs/uploads/`, undefined],
      ['POST', `${name}/blobs/uploads/?digest=${sha256('x')}`, 'x'],
      ['PATCH', `${name}/blobs/uploads/some-id`, 'x'],
      ['PUT', `${name}/blobs/uploads/some-id?digest=${sha256('x')}`, 'x'],
      ['PUT', `${name}/manifests/v2`, '{}'],
      ['DELETE', `${name}/manifests/${v1}`, undefined],
      ['DELETE', `${name}/blobs/${sha256('x')}`, undefined],
    ];
    for (const [method, url, body] of writes) {
      const res = await fetch(url, { method, body, headers: body ? { 'content-type': 'application/octet-stream' } : {} });
      assert.equal(res.status, 405, `${method} ${url}`);
      const error = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];
      assert.equal(error.code, 'UNSUPPORTED');
      assert.equal(error.message, `${method} is not supported: up/team/app is a pull-through cache of ${upstream.url}`);
    }
    assert.equal((await pullManifest('v1')).digest, v1, 'nothing was deleted');
    await pushTinyImage(mirror.url, 'mine/app', 'v1', 'private');
  });

  it('asks for authorization before refusing a write: a client without push gets 401, as from distribution', async () => {
    const guarded = await startTestWharf({
      config: { registry: { proxy: { remoteUrl: upstream.url } } },
      auth: { mode: 'htpasswd', anonymousPull: true },
    });
    try {
      const pulled = await fetch(`${guarded.url}/v2/team/app/manifests/v1`, { headers: accept });
      assert.equal(pulled.status, 200);
      const pushed = await fetch(`${guarded.url}/v2/team/app/manifests/v1`, { method: 'PUT', body: '{}', headers: { 'content-type': ociManifest } });
      assert.equal(pushed.status, 401);
      assert.equal(((await pushed.json()) as { errors: { code: string }[] }).errors[0].code, 'UNAUTHORIZED');
    } finally {
      await guarded.close();
    }
  });

  it('lists the cached names in the catalog and their cached tags', async () => {
    const catalog = (await (await fetch(`${mirror.url}/v2/_catalog`)).json()) as { repositories: string[] };
    assert.deepEqual(catalog.repositories, ['mine/app', 'up/team/app']);
    const tags = (await (await fetch(`${mirror.url}/v2/up/team/app/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['crowd', 'v1']);
  });

  it('with the upstream gone: serves cached tags stale and cached blobs, 503 UNAVAILABLE for the rest', async () => {
    const { manifest } = await pullManifest('v1');
    await (await pullBlob(manifest.layers[0].digest)).arrayBuffer();
    await pullManifest('v1');
    const secret = await postBlob(mirror.url, 'mine/app', Buffer.from('private, and never checked upstream'));
    await upstream.close();
    await sleep(ttlSeconds * 1000 + 200);
    assert.equal((await pullManifest('v1')).digest, v1);
    const layer = await pullBlob(manifest.layers[0].digest);
    assert.equal(sha256(Buffer.from(await layer.arrayBuffer())), manifest.layers[0].digest);
    for (const path of ['manifests/never-pulled', `manifests/${sha256('never')}`, `blobs/${sha256('never')}`, `blobs/${secret.digest}`]) {
      const res = await fetch(`${mirror.url}/v2/up/team/app/${path}`, { headers: accept });
      assert.equal(res.status, 503, path);
      const error = ((await res.json()) as { errors: { code: string; message: string }[] }).errors[0];
      assert.equal(error.code, 'UNAVAILABLE');
      assert.match(error.message, /^upstream up\/ unavailable: /);
    }
    const metrics = parsePrometheusText(await (await fetch(`${mirror.url}/metrics`)).text());
    const count = (kind: string, result: string) =>
      metrics.find((s) => s.name === 'wharf_registry_mirror_requests_total' && s.labels.kind === kind && s.labels.result === result)?.value ?? 0;
    assert.ok(count('manifest', 'stale') >= 1);
    assert.ok(count('manifest', 'hit') >= 1);
    assert.ok(count('manifest', 'miss') >= 1);
    assert.ok(count('blob', 'miss') + count('blob', 'hit') >= 1);
    assert.ok(count('manifest', 'error') >= 2);
    assert.ok(metrics.some((s) => s.name === 'wharf_registry_mirror_upstream_bytes_total' && s.labels.upstream === 'up/' && s.value > 0));
  });
});

describe('pull-through cache whose upstream is cut mid-blob', () => {
  let upstream: Distribution;
  let relay: TcpRelay;
  let mirror: TestWharf;

  before(async () => {
    upstream = await startDistribution();
    relay = await startTcpRelay(upstream.host);
    mirror = await startTestWharf({ config: { registry: { proxy: { remoteUrl: relay.url } } } });
  });
  after(async () => {
    await mirror?.close();
    await relay?.close();
    await upstream?.close();
  });

  it('breaks the client’s transfer, stores nothing, and fetches again on the next pull', async () => {
    const blob = await uploadTinyBlob(upstream.url, 'team/cut', Buffer.alloc(4 * 1024 * 1024, 3));
    relay.throttle(512 * 1024);
    const res = await fetch(`${mirror.url}/v2/team/cut/blobs/${blob.digest}`);
    assert.equal(res.status, 200);
    assert.equal(Number(res.headers.get('content-length')), blob.size);
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    assert.ok(((await reader.read()).value?.length ?? 0) > 0);
    relay.drop();
    await assert.rejects(async () => {
      for (;;) if ((await reader.read()).done) break;
    });
    relay.throttle(undefined);
    // At once: the failed fetch dropped its ingest and left before the client's transfer broke off.
    const hex = blob.digest.slice('sha256:'.length);
    assert.equal(existsSync(join(mirror.root, 'blobs', 'sha256', hex.slice(0, 2), hex)), false);
    assert.deepEqual(readdirSync(join(mirror.root, 'ingest')), []);
    const again = await fetch(`${mirror.url}/v2/team/cut/blobs/${blob.digest}`);
    assert.equal(again.status, 200);
    assert.equal(sha256(Buffer.from(await again.arrayBuffer())), blob.digest);
  });
});
