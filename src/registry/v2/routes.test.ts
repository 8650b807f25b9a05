import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { digestOf } from '../../oci/digest.ts';
import { emptyJsonDigest, mediaTypes } from '../../oci/media-types.ts';
import { assertError, errorCode, imageManifest, pushBlob, pushImage, putManifest, startTestRegistry, type TestRegistry } from './test-registry.ts';

let t: TestRegistry;

before(async () => {
  t = await startTestRegistry({ registry: { maxManifestBytes: 64 * 1024 } });
});

after(async () => {
  await t.close();
});

describe('registry v2 API', () => {
  test('the base endpoint answers 200 with the API version header, for GET and HEAD', async () => {
    for (const url of ['/v2/', '/v2']) {
      const res = await t.app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 200);
      assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
      assert.deepEqual(JSON.parse(res.body), {});
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/v2/' });
    assert.equal(head.statusCode, 200);
  });

  test('a chunked upload streams, reports its range and commits with the right digest', async () => {
    const data = Buffer.alloc(300_000, 7);
    const start = await t.app.inject({ method: 'POST', url: '/v2/chunks/app/blobs/uploads/' });
    assert.equal(start.statusCode, 202);
    assert.equal(start.headers.range, '0-0');
    assert.equal(start.headers['content-length'], '0');
    const location = start.headers.location as string;
    assert.match(location, /^\/v2\/chunks\/app\/blobs\/uploads\/[\w-]+$/);
    assert.equal(location.split('/').pop(), start.headers['docker-upload-uuid']);
    const first = await t.app.inject({ method: 'PATCH', url: location, payload: data.subarray(0, 100_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '0-99999' } });
    assert.equal(first.statusCode, 202);
    assert.equal(first.headers.range, '0-99999');
    assert.equal(first.headers.location, location);
    const gap = await t.app.inject({ method: 'PATCH', url: location, payload: data.subarray(150_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '150000-299999' } });
    assertError(gap, 416, 'RANGE_INVALID', 'distribution-spec: an out-of-order chunk answers 416');
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 204);
    assert.equal(status.headers.range, '0-99999');
    assert.equal(status.headers.location, location);
    const streamed = await t.app.inject({ method: 'PATCH', url: location, payload: data.subarray(100_000, 200_000), headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(streamed.statusCode, 202, 'a PATCH without Content-Range is a streamed append (docker)');
    assert.equal(streamed.headers.range, '0-199999');
    const digest = digestOf(data);
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${digest}`, payload: data.subarray(200_000), headers: { 'content-type': 'application/octet-stream', 'content-range': '200000-299999' } });
    assert.equal(done.statusCode, 201, done.body);
    assert.equal(done.headers['docker-content-digest'], digest);
    assert.equal(done.headers.location, `/v2/chunks/app/blobs/${digest}`);
    const head = await t.app.inject({ method: 'HEAD', url: `/v2/chunks/app/blobs/${digest}` });
    assert.equal(head.statusCode, 200);
    assert.equal(head.headers['content-length'], '300000');
    assert.equal(head.headers['docker-content-digest'], digest);
    assertError(await t.app.inject({ method: 'GET', url: location }), 404, 'BLOB_UPLOAD_UNKNOWN', 'the session ends with the PUT');
  });

  test('an empty blob is uploaded with POST then a bodiless PUT', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/empty/blob/blobs/uploads/' });
    const digest = digestOf('');
    const done = await t.app.inject({ method: 'PUT', url: `${start.headers.location}?digest=${digest}` });
    assert.equal(done.statusCode, 201, done.body);
    const get = await t.app.inject({ method: 'GET', url: `/v2/empty/blob/blobs/${digest}` });
    assert.equal(get.statusCode, 200);
    assert.equal(get.body, '');
  });

  test('a blob GET streams it whole with its digest, length and type', async () => {
    const { digest } = await pushBlob(t.app, 'get/blob', 'blob content');
    const res = await t.app.inject({ method: 'GET', url: `/v2/get/blob/blobs/${digest}` });
    assert.equal(res.statusCode, 200);
    assert.equal(res.body, 'blob content');
    assert.equal(res.headers['content-length'], '12');
    assert.equal(res.headers['docker-content-digest'], digest);
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    const again = await t.app.inject({ method: 'GET', url: `/v2/get/blob/blobs/${digest}`, headers: { 'if-none-match': `"${digest}"` } });
    assert.equal(again.statusCode, 304);
  });

  test('a blob GET honours Range with 206 and refuses an unsatisfiable one with 416', async () => {
    const { digest } = await pushBlob(t.app, 'ranges/app', '0123456789');
    const url = `/v2/ranges/app/blobs/${digest}`;
    const part = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=2-5' } });
    assert.equal(part.statusCode, 206);
    assert.equal(part.body, '2345');
    assert.equal(part.headers['content-range'], 'bytes 2-5/10');
    assert.equal(part.headers['content-length'], '4');
    const open = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=7-' } });
    assert.deepEqual([open.statusCode, open.body], [206, '789']);
    const suffix = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=-3' } });
    assert.deepEqual([suffix.statusCode, suffix.body, suffix.headers['content-range']], [206, '789', 'bytes 7-9/10']);
    const clamped = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=8-100' } });
    assert.deepEqual([clamped.statusCode, clamped.body], [206, '89']);
    const bad = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=20-30' } });
    assertError(bad, 416, 'RANGE_INVALID');
    assert.equal(bad.headers['content-range'], 'bytes */10');
    const ignored = await t.app.inject({ method: 'GET', url, headers: { range: 'bytes=0-1,4-5' } });
    assert.deepEqual([ignored.statusCode, ignored.body], [200, '0123456789'], 'several ranges are ignored (RFC 9110)');
  });

  test('manifests round-trip by tag and digest with their media type and digest headers', async () => {
    const { digest, body } = await pushImage(t.app, 'round/trip', 'v1');
    assert.equal(digest, digestOf(body));
    for (const ref of ['v1', digest]) {
      const res = await t.app.inject({ method: 'GET', url: `/v2/round/trip/manifests/${ref}`, headers: { accept: mediaTypes.ociManifest } });
      assert.equal(res.statusCode, 200);
      assert.equal(res.body, body);
      assert.equal(res.headers['content-type'], mediaTypes.ociManifest);
      assert.equal(res.headers['docker-content-digest'], digest);
      assert.equal(res.headers['content-length'], String(Buffer.byteLength(body)));
    }
    const head = await t.app.inject({ method: 'HEAD', url: '/v2/round/trip/manifests/v1' });
    assert.equal(head.statusCode, 200);
    assert.equal(head.body, '');
    assert.equal(head.headers['content-length'], String(body.length));
    assert.equal(head.headers['docker-content-digest'], digest);
    const cached = await t.app.inject({ method: 'GET', url: '/v2/round/trip/manifests/v1', headers: { 'if-none-match': `"${digest}"` } });
    assert.equal(cached.statusCode, 304);
  });

  test('a manifest PUT answers 201 with Location and Docker-Content-Digest; a tag can move', async () => {
    const first = await pushImage(t.app, 'put/answers', 'latest');
    assert.equal(first.res.headers.location, `/v2/put/answers/manifests/${first.digest}`);
    assert.equal(first.res.headers['oci-subject'], undefined);
    const second = await pushImage(t.app, 'put/answers', 'latest', { annotations: { moved: 'yes' } });
    const res = await t.app.inject({ method: 'HEAD', url: '/v2/put/answers/manifests/latest' });
    assert.equal(res.headers['docker-content-digest'], second.digest);
    const old = await t.app.inject({ method: 'HEAD', url: `/v2/put/answers/manifests/${first.digest}` });
    assert.equal(old.statusCode, 200, 'the untagged manifest stays by digest');
  });

  test('Accept negotiation: OCI types are withheld from a client that lists only Docker types', async () => {
    const { digest } = await pushImage(t.app, 'negotiate/oci', 'v1');
    const docker = await t.app.inject({ method: 'GET', url: '/v2/negotiate/oci/manifests/v1', headers: { accept: mediaTypes.dockerManifest } });
    assertError(docker, 404, 'MANIFEST_UNKNOWN');
    for (const accept of [undefined, '*/*', `${mediaTypes.dockerManifest}, ${mediaTypes.ociManifest};q=0.9`]) {
      const res = await t.app.inject({ method: 'GET', url: `/v2/negotiate/oci/manifests/${digest}`, headers: accept ? { accept } : {} });
      assert.equal(res.statusCode, 200, String(accept));
    }
    const config = await pushBlob(t.app, 'negotiate/docker', '{"os":"linux"}');
    const body = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.dockerManifest, config: { mediaType: mediaTypes.dockerConfig, ...config }, layers: [] });
    assert.equal((await putManifest(t.app, 'negotiate/docker', 'v1', body, mediaTypes.dockerManifest)).statusCode, 201);
    const asOci = await t.app.inject({ method: 'GET', url: '/v2/negotiate/docker/manifests/v1', headers: { accept: mediaTypes.ociManifest } });
    assert.equal(asOci.statusCode, 200, 'a Docker manifest is always answered (no schema 1 to convert to)');
    assert.equal(asOci.headers['content-type'], mediaTypes.dockerManifest);
  });

  test('an index can be pushed once its children exist, and answers with its media type', async () => {
    const child = await pushImage(t.app, 'multi/arch', 'amd64');
    const index = JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.ociIndex,
      manifests: [{ mediaType: mediaTypes.ociManifest, digest: child.digest, size: child.size, platform: { architecture: 'amd64', os: 'linux' } }],
    });
    const res = await putManifest(t.app, 'multi/arch', 'latest', index, mediaTypes.ociIndex);
    assert.equal(res.statusCode, 201, res.body);
    const get = await t.app.inject({ method: 'GET', url: '/v2/multi/arch/manifests/latest', headers: { accept: mediaTypes.ociIndex } });
    assert.equal(get.headers['content-type'], mediaTypes.ociIndex);
    assert.equal(get.body, index);
  });

  test('a dot-dot path reaching the socket is refused as a name, not resolved', async () => {
    const base = new URL(await t.url());
    const status = await new Promise<number>((resolve, reject) => {
      const req = request({ host: base.hostname, port: base.port, method: 'POST', path: '/v2/a/../b/blobs/uploads/' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(status, 400);
  });

  test('tags list is sorted and paginated with a Link header', async () => {
    for (const tag of ['c', 'a', 'b']) await pushImage(t.app, 'paged/tags', tag);
    const all = await t.app.inject({ method: 'GET', url: '/v2/paged/tags/tags/list' });
    assert.deepEqual(JSON.parse(all.body), { name: 'paged/tags', tags: ['a', 'b', 'c'] });
    assert.equal(all.headers.link, undefined);
    const first = await t.app.inject({ method: 'GET', url: '/v2/paged/tags/tags/list?n=2' });
    assert.deepEqual(JSON.parse(first.body), { name: 'paged/tags', tags: ['a', 'b'] });
    assert.equal(first.headers.link, '</v2/paged/tags/tags/list?last=b&n=2>; rel="next"');
    const second = await t.app.inject({ method: 'GET', url: '/v2/paged/tags/tags/list?n=2&last=b' });
    assert.deepEqual(JSON.parse(second.body).tags, ['c']);
    assert.equal(second.headers.link, undefined);
    const none = await t.app.inject({ method: 'GET', url: '/v2/paged/tags/tags/list?n=0' });
    assert.deepEqual(JSON.parse(none.body).tags, []);
  });

  test('the catalog lists repositories in order with pagination', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/v2/_catalog?n=1000' });
    const repos = JSON.parse(res.body).repositories as string[];
    assert.deepEqual(repos, [...repos].sort());
    assert.ok(repos.includes('paged/tags'));
    const one = await t.app.inject({ method: 'GET', url: '/v2/_catalog?n=1' });
    const [firstRepo] = JSON.parse(one.body).repositories as string[];
    assert.equal(firstRepo, repos[0]);
    assert.equal(one.headers.link, `</v2/_catalog?last=${encodeURIComponent(firstRepo)}&n=1>; rel="next"`);
    const next = await t.app.inject({ method: 'GET', url: `/v2/_catalog?n=1&last=${encodeURIComponent(firstRepo)}` });
    assert.deepEqual(JSON.parse(next.body).repositories, [repos[1]]);
  });

  test('deleting a tag removes only the tag; deleting by digest removes the manifest', async () => {
    const { digest, body } = await pushImage(t.app, 'del/me', 'one');
    assert.equal((await putManifest(t.app, 'del/me', 'two', body)).statusCode, 201);
    const untag = await t.app.inject({ method: 'DELETE', url: '/v2/del/me/manifests/one' });
    assert.equal(untag.statusCode, 202);
    assertError(await t.app.inject({ method: 'GET', url: '/v2/del/me/manifests/one' }), 404, 'MANIFEST_UNKNOWN');
    assert.equal((await t.app.inject({ method: 'GET', url: '/v2/del/me/manifests/two' })).statusCode, 200);
    assert.equal((await t.app.inject({ method: 'GET', url: `/v2/del/me/manifests/${digest}` })).statusCode, 200);
    const del = await t.app.inject({ method: 'DELETE', url: `/v2/del/me/manifests/${digest}` });
    assert.equal(del.statusCode, 202);
    assertError(await t.app.inject({ method: 'GET', url: '/v2/del/me/manifests/two' }), 404, 'MANIFEST_UNKNOWN');
    assertError(await t.app.inject({ method: 'DELETE', url: `/v2/del/me/manifests/${digest}` }), 404, 'MANIFEST_UNKNOWN');
    assertError(await t.app.inject({ method: 'DELETE', url: '/v2/del/me/manifests/one' }), 404, 'MANIFEST_UNKNOWN');
  });

  test('cross-repository mount links an existing blob; a mount from a repo without it falls back to an upload', async () => {
    const { digest } = await pushBlob(t.app, 'mount/source', 'shared layer');
    const mounted = await t.app.inject({ method: 'POST', url: `/v2/mount/target/blobs/uploads/?mount=${digest}&from=mount/source` });
    assert.equal(mounted.statusCode, 201);
    assert.equal(mounted.headers.location, `/v2/mount/target/blobs/${digest}`);
    assert.equal(mounted.headers['docker-content-digest'], digest);
    assert.equal((await t.app.inject({ method: 'HEAD', url: `/v2/mount/target/blobs/${digest}` })).statusCode, 200);
    const fallback = await t.app.inject({ method: 'POST', url: `/v2/mount/other/blobs/uploads/?mount=${digest}&from=mount/empty` });
    assert.equal(fallback.statusCode, 202);
    assert.match(fallback.headers.location as string, /^\/v2\/mount\/other\/blobs\/uploads\//);
    const anyRepo = await t.app.inject({ method: 'POST', url: `/v2/mount/third/blobs/uploads/?mount=${digest}` });
    assert.equal(anyRepo.statusCode, 201, 'OCI 1.1: mount without from when the registry holds the blob');
    const unknown = await t.app.inject({ method: 'POST', url: `/v2/mount/fourth/blobs/uploads/?mount=${digestOf('nowhere')}` });
    assert.equal(unknown.statusCode, 202);
  });

  test('referrers list manifests whose subject is the digest, filtered by artifactType', async () => {
    const image = await pushImage(t.app, 'refs/app', 'v1');
    const subject = { mediaType: mediaTypes.ociManifest, digest: image.digest, size: image.size };
    const empty = await pushBlob(t.app, 'refs/app', '{}');
    assert.equal(empty.digest, emptyJsonDigest);
    for (const artifactType of ['application/vnd.example.sbom+json', 'application/vnd.example.sig']) {
      const body = JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType,
        config: { mediaType: mediaTypes.ociEmpty, ...empty },
        layers: [],
        subject,
        annotations: { kind: artifactType },
      });
      const res = await putManifest(t.app, 'refs/app', digestOf(body), body);
      assert.equal(res.statusCode, 201, res.body);
      assert.equal(res.headers['oci-subject'], image.digest);
    }
    const all = await t.app.inject({ method: 'GET', url: `/v2/refs/app/referrers/${image.digest}` });
    assert.equal(all.statusCode, 200);
    assert.equal(all.headers['content-type'], mediaTypes.ociIndex);
    assert.equal(all.headers['oci-filters-applied'], undefined);
    const index = JSON.parse(all.body);
    assert.deepEqual([index.schemaVersion, index.mediaType], [2, mediaTypes.ociIndex]);
    assert.equal(index.manifests.length, 2);
    assert.deepEqual(index.manifests.map((m: { annotations: { kind: string } }) => m.annotations.kind).sort(), ['application/vnd.example.sbom+json', 'application/vnd.example.sig']);
    const filtered = await t.app.inject({ method: 'GET', url: `/v2/refs/app/referrers/${image.digest}?artifactType=application/vnd.example.sbom+json` });
    assert.equal(filtered.headers['oci-filters-applied'], 'artifactType');
    assert.deepEqual(JSON.parse(filtered.body).manifests.map((m: { artifactType: string }) => m.artifactType), ['application/vnd.example.sbom+json']);
    const none = await t.app.inject({ method: 'GET', url: `/v2/refs/app/referrers/${digestOf('no such subject')}` });
    assert.equal(none.statusCode, 200, 'distribution-spec: the referrers API never answers 404');
    assert.deepEqual(JSON.parse(none.body).manifests, []);
  });

  test('a cancelled upload is gone and its id unknown afterwards', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/cancel/me/blobs/uploads/' });
    const location = start.headers.location as string;
    await t.app.inject({ method: 'PATCH', url: location, payload: 'partial', headers: { 'content-type': 'application/octet-stream' } });
    assert.equal((await t.app.inject({ method: 'DELETE', url: location })).statusCode, 204);
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.equal(status.statusCode, 404);
    assert.equal(errorCode(status), 'BLOB_UPLOAD_UNKNOWN');
  });

  test('deleting a blob unlinks it from the repository and keeps it for others', async () => {
    const { digest } = await pushBlob(t.app, 'blob/delete', 'to be deleted');
    await pushBlob(t.app, 'blob/keeper', 'to be deleted');
    assert.equal((await t.app.inject({ method: 'DELETE', url: `/v2/blob/delete/blobs/${digest}` })).statusCode, 202);
    assertError(await t.app.inject({ method: 'HEAD', url: `/v2/blob/delete/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
    assert.equal((await t.app.inject({ method: 'GET', url: `/v2/blob/keeper/blobs/${digest}` })).body, 'to be deleted');
    assertError(await t.app.inject({ method: 'DELETE', url: `/v2/blob/delete/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
  });

  test('a blob is served only by the repositories that link it', async () => {
    const { digest } = await pushBlob(t.app, 'linked/one', 'private bytes');
    assertError(await t.app.inject({ method: 'GET', url: `/v2/linked/two/blobs/${digest}` }), 404, 'BLOB_UNKNOWN');
  });

  test('a manifest with a config image and no layers is accepted (OCI artifacts)', async () => {
    const config = await pushBlob(t.app, 'no/layers', '{"a":1}');
    const res = await putManifest(t.app, 'no/layers', 'v1', imageManifest(config, []));
    assert.equal(res.statusCode, 201, res.body);
  });

  test('Location headers are absolute on a configured public URL', async () => {
    const other = await startTestRegistry({ registry: { publicUrl: 'https://registry.example.com/' } });
    try {
      const start = await other.app.inject({ method: 'POST', url: '/v2/abs/url/blobs/uploads/' });
      assert.match(start.headers.location as string, /^https:\/\/registry\.example\.com\/v2\/abs\/url\/blobs\/uploads\/[\w-]+$/);
    } finally {
      await other.close();
    }
  });
});
