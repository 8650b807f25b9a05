import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import { emptyJsonDigest, mediaTypes } from '../../oci/media-types.ts';
import { startTestRegistry, type TestRegistry } from './test-registry.ts';

// The four phases of the OCI distribution-spec conformance suite (pull, push, content discovery, content
// management), replayed over a real socket with fetch, in the suite's order: each phase uses what the previous
// one left behind.
let t: TestRegistry;
let base: string;
const repo = 'conformance/flow';

const layerBytes = Buffer.from('conformance layer bytes');
const configBytes = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
const layer = { mediaType: mediaTypes.ociLayerGzip, digest: digestOf(layerBytes), size: layerBytes.length };
const config = { mediaType: mediaTypes.ociConfig, digest: digestOf(configBytes), size: configBytes.length };
const manifest = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [layer] });
const manifestDigest = digestOf(manifest);

before(async () => {
  t = await startTestRegistry();
  base = await t.url();
});

after(async () => {
  await t.close();
});

function call(method: string, path: string, init: { body?: string | Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
  const url = path.startsWith('http') ? path : `${base}${path}`;
  return fetch(url, { method, body: init.body, headers: init.headers, redirect: 'manual' });
}

async function code(res: Response): Promise<string> {
  return ((await res.json()) as { errors: { code: string }[] }).errors[0].code;
}

function location(res: Response): string {
  const value = res.headers.get('location');
  assert.ok(value, 'a Location header');
  return new URL(value, base).toString();
}

describe('push', () => {
  test('POST then PUT uploads a blob in two requests', async () => {
    const start = await call('POST', `/v2/${repo}/blobs/uploads/`);
    assert.equal(start.status, 202);
    const put = await call('PUT', `${location(start)}?digest=${config.digest}`, {
      body: configBytes,
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(configBytes.length) },
    });
    assert.equal(put.status, 201);
    assert.equal(put.headers.get('docker-content-digest'), config.digest);
    assert.equal(new URL(location(put)).pathname, `/v2/${repo}/blobs/${config.digest}`);
  });

  test('POST with ?digest= uploads a blob in one request', async () => {
    const res = await call('POST', `/v2/${repo}/blobs/uploads/?digest=${layer.digest}`, { body: layerBytes, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(res.status, 201);
  });

  test('a chunked upload: PATCH in order, status, out-of-order 416, PUT', async () => {
    const data = Buffer.from('0123456789abcdefghij');
    const start = await call('POST', `/v2/${repo}/blobs/uploads/`, { headers: { 'content-length': '0' } });
    assert.equal(start.status, 202);
    const first = await call('PATCH', location(start), { body: data.subarray(0, 10), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-9', 'content-length': '10' } });
    assert.equal(first.status, 202);
    assert.equal(first.headers.get('range'), '0-9');
    const status = await call('GET', location(first));
    assert.equal(status.status, 204);
    assert.equal(status.headers.get('range'), '0-9');
    const outOfOrder = await call('PATCH', location(first), { body: data.subarray(15), headers: { 'content-type': 'application/octet-stream', 'content-range': '15-19', 'content-length': '5' } });
    assert.equal(outOfOrder.status, 416);
    const last = await call('PATCH', location(first), { body: data.subarray(10), headers: { 'content-type': 'application/octet-stream', 'content-range': '10-19', 'content-length': '10' } });
    assert.equal(last.status, 202);
    const put = await call('PUT', `${location(last)}?digest=${digestOf(data)}`);
    assert.equal(put.status, 201);
    const blob = await call('GET', `/v2/${repo}/blobs/${digestOf(data)}`);
    assert.equal(Buffer.from(await blob.arrayBuffer()).toString(), data.toString());
  });

  test('a cross-repository mount with from answers 201; without from the registry may mount too', async () => {
    const mounted = await call('POST', `/v2/conformance/cross/blobs/uploads/?mount=${layer.digest}&from=${repo}`);
    assert.equal(mounted.status, 201);
    assert.equal(mounted.headers.get('docker-content-digest'), layer.digest);
    const automatic = await call('POST', `/v2/conformance/auto/blobs/uploads/?mount=${layer.digest}`);
    assert.equal(automatic.status, 201);
    const unknown = await call('POST', `/v2/conformance/cross/blobs/uploads/?mount=${digestOf('unknown')}&from=${repo}`);
    assert.equal(unknown.status, 202, 'no such blob: a plain upload session');
  });

  test('manifests are pushed by tag and by digest; one with a missing layer is refused', async () => {
    const byTag = await call('PUT', `/v2/${repo}/manifests/tagtest0`, { body: manifest, headers: { 'content-type': mediaTypes.ociManifest } });
    assert.equal(byTag.status, 201);
    assert.equal(byTag.headers.get('docker-content-digest'), manifestDigest);
    const byDigest = await call('PUT', `/v2/${repo}/manifests/${manifestDigest}`, { body: manifest, headers: { 'content-type': mediaTypes.ociManifest } });
    assert.equal(byDigest.status, 201);
    for (const tag of ['tagtest1', 'tagtest2', 'tagtest3']) {
      assert.equal((await call('PUT', `/v2/${repo}/manifests/${tag}`, { body: manifest, headers: { 'content-type': mediaTypes.ociManifest } })).status, 201);
    }
    const missing = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociManifest, config, layers: [{ ...layer, digest: digestOf('absent') }] });
    const refused = await call('PUT', `/v2/${repo}/manifests/missing`, { body: missing, headers: { 'content-type': mediaTypes.ociManifest } });
    assert.equal(refused.status, 400);
    assert.equal(await code(refused), 'MANIFEST_BLOB_UNKNOWN');
  });
});

describe('pull', () => {
  test('the base endpoint answers 200', async () => {
    const res = await call('GET', '/v2/');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('docker-distribution-api-version'), 'registry/2.0');
  });

  test('HEAD and GET of a manifest by tag and by digest', async () => {
    for (const ref of ['tagtest0', manifestDigest]) {
      const head = await call('HEAD', `/v2/${repo}/manifests/${ref}`, { headers: { accept: mediaTypes.ociManifest } });
      assert.equal(head.status, 200);
      assert.equal(head.headers.get('docker-content-digest'), manifestDigest);
      assert.equal(head.headers.get('content-length'), String(Buffer.byteLength(manifest)));
      const get = await call('GET', `/v2/${repo}/manifests/${ref}`, { headers: { accept: mediaTypes.ociManifest } });
      assert.equal(get.status, 200);
      assert.equal(get.headers.get('content-type'), mediaTypes.ociManifest);
      const body = Buffer.from(await get.arrayBuffer());
      assert.equal(digestOf(body), manifestDigest, 'the bytes pushed, byte for byte');
    }
  });

  test('HEAD and GET of a blob, and 404s for what does not exist', async () => {
    const head = await call('HEAD', `/v2/${repo}/blobs/${layer.digest}`);
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(layer.size));
    const get = await call('GET', `/v2/${repo}/blobs/${layer.digest}`);
    assert.equal(digestOf(Buffer.from(await get.arrayBuffer())), layer.digest);
    const noManifest = await call('GET', `/v2/${repo}/manifests/nonexistent`);
    assert.equal(noManifest.status, 404);
    assert.equal(await code(noManifest), 'MANIFEST_UNKNOWN');
    const noBlob = await call('GET', `/v2/${repo}/blobs/${digestOf('nonexistent')}`);
    assert.equal(noBlob.status, 404);
    assert.equal(await code(noBlob), 'BLOB_UNKNOWN');
  });
});

describe('content discovery', () => {
  test('tags list, whole and in pages with a Link to the next', async () => {
    const all = (await (await call('GET', `/v2/${repo}/tags/list`)).json()) as { name: string; tags: string[] };
    assert.deepEqual(all, { name: repo, tags: ['tagtest0', 'tagtest1', 'tagtest2', 'tagtest3'] });
    const first = await call('GET', `/v2/${repo}/tags/list?n=2`);
    assert.deepEqual(((await first.json()) as { tags: string[] }).tags, ['tagtest0', 'tagtest1']);
    const link = /^<([^>]+)>; rel="next"$/.exec(first.headers.get('link') ?? '');
    assert.ok(link, 'a Link header');
    const second = await call('GET', link[1]);
    assert.deepEqual(((await second.json()) as { tags: string[] }).tags, ['tagtest2', 'tagtest3']);
    const last = await call('GET', `/v2/${repo}/tags/list?n=3&last=tagtest1`);
    assert.deepEqual(((await last.json()) as { tags: string[] }).tags, ['tagtest2', 'tagtest3']);
  });

  test('referrers: manifests with a subject are listed and filtered by artifactType', async () => {
    const empty = await call('POST', `/v2/${repo}/blobs/uploads/?digest=${emptyJsonDigest}`, { body: '{}' });
    assert.equal(empty.status, 201);
    const subject = { mediaType: mediaTypes.ociManifest, digest: manifestDigest, size: Buffer.byteLength(manifest) };
    const artifacts = ['application/vnd.conformance.a', 'application/vnd.conformance.b'].map((artifactType) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType,
        config: { mediaType: mediaTypes.ociEmpty, digest: emptyJsonDigest, size: 2 },
        layers: [{ mediaType: mediaTypes.ociEmpty, digest: emptyJsonDigest, size: 2 }],
        subject,
      }),
    );
    for (const body of artifacts) {
      const res = await call('PUT', `/v2/${repo}/manifests/${digestOf(body)}`, { body, headers: { 'content-type': mediaTypes.ociManifest } });
      assert.equal(res.status, 201);
      assert.equal(res.headers.get('oci-subject'), manifestDigest);
    }
    const index = await call('GET', `/v2/${repo}/referrers/${manifestDigest}`);
    assert.equal(index.status, 200);
    assert.equal(index.headers.get('content-type'), mediaTypes.ociIndex);
    const listed = (await index.json()) as { manifests: { digest: string; artifactType: string; size: number }[] };
    assert.deepEqual(listed.manifests.map((m) => m.digest).sort(), artifacts.map((a) => digestOf(a)).sort());
    const filtered = await call('GET', `/v2/${repo}/referrers/${manifestDigest}?artifactType=application/vnd.conformance.a`);
    assert.equal(filtered.headers.get('oci-filters-applied'), 'artifactType');
    assert.deepEqual(((await filtered.json()) as { manifests: { digest: string }[] }).manifests.map((m) => m.digest), [digestOf(artifacts[0])]);
    const none = await call('GET', `/v2/${repo}/referrers/${digestOf('nothing refers')}`);
    assert.equal(none.status, 200);
    assert.deepEqual(((await none.json()) as { manifests: unknown[] }).manifests, []);
  });
});

describe('content management', () => {
  test('DELETE of a tag, then of the manifest by digest, then of a blob', async () => {
    assert.equal((await call('DELETE', `/v2/${repo}/manifests/tagtest3`)).status, 202);
    assert.equal((await call('GET', `/v2/${repo}/manifests/tagtest3`)).status, 404);
    assert.equal((await call('GET', `/v2/${repo}/manifests/tagtest2`)).status, 200, 'other tags stay');
    assert.equal((await call('DELETE', `/v2/${repo}/manifests/${manifestDigest}`)).status, 202);
    assert.equal((await call('GET', `/v2/${repo}/manifests/${manifestDigest}`)).status, 404);
    assert.equal((await call('GET', `/v2/${repo}/manifests/tagtest0`)).status, 404, 'tags go with their manifest');
    assert.equal((await call('DELETE', `/v2/${repo}/blobs/${layer.digest}`)).status, 202);
    assert.equal((await call('GET', `/v2/${repo}/blobs/${layer.digest}`)).status, 404);
    assert.equal((await call('GET', `/v2/conformance/cross/blobs/${layer.digest}`)).status, 200, 'the mounted copy stays');
  });
});
