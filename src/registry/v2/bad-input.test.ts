import assert from 'node:assert/strict';
import { request } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { InjectOptions } from 'fastify';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { assertError, imageManifest, pushBlob, pushImage, startTestRegistry, storageSnapshot, type TestRegistry } from './test-registry.ts';

// issue 2, "Bad input": each gets the spec's error code and status, and nothing is written.
let t: TestRegistry;
let config: { digest: string; size: number };
let layer: { digest: string; size: number };

const manifestLimit = 16 * 1024;

before(async () => {
  t = await startTestRegistry({ registry: { maxManifestBytes: manifestLimit } });
  config = await pushBlob(t.app, 'bad/repo', '{"os":"linux"}');
  layer = await pushBlob(t.app, 'bad/repo', 'a layer');
});

after(async () => {
  await t.close();
});

/** Sends the request, checks status and code, and that blobs, ingests and rows are exactly as before. */
async function refused(options: InjectOptions, status: number, code: string): Promise<void> {
  const before = await storageSnapshot(t);
  const res = await t.app.inject(options);
  assertError(res, status, code, `${options.method} ${options.url}`);
  assert.equal(res.headers['docker-distribution-api-version'], 'registry/2.0');
  if (options.method !== 'HEAD') assert.match(String(res.headers['content-type']), /^application\/json/);
  assert.deepEqual(await storageSnapshot(t), before, `${options.method} ${options.url} wrote something`);
}

function put(repo: string, reference: string, body: string | Buffer, contentType: string = mediaTypes.ociManifest): InjectOptions {
  return { method: 'PUT', url: `/v2/${repo}/manifests/${reference}`, payload: body, headers: { 'content-type': contentType } };
}

/** Opens an upload session and sends a first chunk, answering its Location. */
async function openUpload(repo: string, first: string): Promise<string> {
  const start = await t.app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/` });
  const location = start.headers.location as string;
  const res = await t.app.inject({ method: 'PATCH', url: location, payload: first, headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${first.length - 1}` } });
  assert.equal(res.statusCode, 202);
  return location;
}

describe('invalid names', () => {
  // Dot segments are sent raw on a socket below: inject() would resolve them before the app sees them.
  const names = ['Upper/case', 'UPPER', 'x'.repeat(256), `${'a/'.repeat(127)}bb`, 'trailing-/x', 'a//b', '-lead', 'a%2Fb', 'a__', 'a___b'];

  test('every route refuses them with 400 NAME_INVALID', async () => {
    const digest = digestOf('x');
    for (const name of names) {
      await refused({ method: 'POST', url: `/v2/${name}/blobs/uploads/` }, 400, 'NAME_INVALID');
      await refused({ method: 'POST', url: `/v2/${name}/blobs/uploads/?digest=${digest}`, payload: 'x', headers: { 'content-type': 'application/octet-stream' } }, 400, 'NAME_INVALID');
      await refused(put(name, 'v1', imageManifest(config, [])), 400, 'NAME_INVALID');
      await refused({ method: 'GET', url: `/v2/${name}/manifests/v1` }, 400, 'NAME_INVALID');
      await refused({ method: 'HEAD', url: `/v2/${name}/blobs/${digest}` }, 400, 'NAME_INVALID');
      await refused({ method: 'GET', url: `/v2/${name}/tags/list` }, 400, 'NAME_INVALID');
      await refused({ method: 'GET', url: `/v2/${name}/referrers/${digest}` }, 400, 'NAME_INVALID');
      await refused({ method: 'DELETE', url: `/v2/${name}/manifests/v1` }, 400, 'NAME_INVALID');
    }
  });

  test('a name of exactly 255 characters is accepted', async () => {
    const name = `${'a'.repeat(127)}/${'b'.repeat(127)}`;
    assert.equal(name.length, 255);
    const res = await t.app.inject({ method: 'POST', url: `/v2/${name}/blobs/uploads/` });
    assert.equal(res.statusCode, 202);
    assert.equal((await t.app.inject({ method: 'DELETE', url: res.headers.location as string })).statusCode, 204);
  });

  test('a dot-dot path sent raw on the socket is refused, not resolved', async () => {
    const base = new URL(await t.url());
    const paths = ['/v2/a/../b/blobs/uploads/', '/v2/a/./b/blobs/uploads/', '/v2/../blobs/uploads/', '/v2/bad/repo/../../x/tags/list', '/v2/a/%2E%2E/b/blobs/uploads/'];
    for (const path of paths) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: base.hostname, port: base.port, method: path.endsWith('list') ? 'GET' : 'POST', path }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 400, path);
    }
  });

  test('a mount from an invalid repository is NAME_INVALID', async () => {
    await refused({ method: 'POST', url: `/v2/bad/repo/blobs/uploads/?mount=${config.digest}&from=Bad/..` }, 400, 'NAME_INVALID');
  });
});

describe('bad manifests', () => {
  test('malformed JSON is MANIFEST_INVALID', async () => {
    for (const body of ['{nope', '', '[]', 'null', '"string"', '{"schemaVersion":2,"config":']) {
      await refused(put('bad/repo', 'v1', body), 400, 'MANIFEST_INVALID');
    }
  });

  test('a wrong or unsupported media type is MANIFEST_INVALID', async () => {
    const image = imageManifest(config, [layer]);
    await refused(put('bad/repo', 'v1', image, 'text/plain'), 400, 'MANIFEST_INVALID');
    await refused(put('bad/repo', 'v1', image, mediaTypes.ociIndex), 400, 'MANIFEST_INVALID');
    await refused(put('bad/repo', 'v1', image, mediaTypes.ociLayerGzip), 400, 'MANIFEST_INVALID');
    await refused(put('bad/repo', 'v1', JSON.stringify({ ...JSON.parse(image), mediaType: 'application/vnd.example.thing' }), 'application/json'), 400, 'MANIFEST_INVALID');
    const schema1 = JSON.stringify({ schemaVersion: 1, name: 'bad/repo', tag: 'v1', architecture: 'amd64', fsLayers: [], history: [] });
    await refused(put('bad/repo', 'v1', schema1, mediaTypes.dockerManifestV1Signed), 400, 'MANIFEST_INVALID');
    const dockerWithoutType = JSON.stringify({ schemaVersion: 2, config: { mediaType: mediaTypes.dockerConfig, ...config }, layers: [] });
    await refused(put('bad/repo', 'v1', dockerWithoutType, mediaTypes.dockerManifest), 400, 'MANIFEST_INVALID');
  });

  test('schema violations are MANIFEST_INVALID', async () => {
    const base = JSON.parse(imageManifest(config, [layer]));
    const variants = [
      { ...base, schemaVersion: 1 },
      { ...base, config: undefined },
      { ...base, layers: 'nope' },
      { ...base, layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: 'sha256:short', size: 1 }] },
      { ...base, layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: layer.digest, size: -5 }] },
      { ...base, layers: [{ mediaType: mediaTypes.ociLayerGzip, digest: layer.digest, size: 1.5 }] },
      { ...base, manifests: [] },
      { ...base, annotations: { a: 1 } },
      { ...base, subject: { mediaType: mediaTypes.ociManifest, digest: 'nope', size: 1 } },
    ];
    for (const variant of variants) await refused(put('bad/repo', 'v1', JSON.stringify(variant)), 400, 'MANIFEST_INVALID');
  });

  test('a referenced blob that is missing (or only in another repository) is MANIFEST_BLOB_UNKNOWN', async () => {
    await refused(put('bad/repo', 'v1', imageManifest(config, [{ digest: digestOf('missing layer'), size: 13 }])), 400, 'MANIFEST_BLOB_UNKNOWN');
    await refused(put('bad/repo', 'v1', imageManifest({ digest: digestOf('missing config'), size: 14 }, [layer])), 400, 'MANIFEST_BLOB_UNKNOWN');
    await refused(put('bad/other', 'v1', imageManifest(config, [layer])), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('an index whose child manifest is missing is MANIFEST_BLOB_UNKNOWN', async () => {
    const index = JSON.stringify({ schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: digestOf('child'), size: 5 }] });
    await refused(put('bad/repo', 'v1', index, mediaTypes.ociIndex), 400, 'MANIFEST_BLOB_UNKNOWN');
  });

  test('a descriptor whose size disagrees with the stored blob is MANIFEST_INVALID', async () => {
    await refused(put('bad/repo', 'v1', imageManifest(config, [{ digest: layer.digest, size: layer.size + 1 }])), 400, 'MANIFEST_INVALID');
  });

  test('a digest reference that does not match the body is DIGEST_INVALID', async () => {
    const body = imageManifest(config, [layer]);
    await refused(put('bad/repo', digestOf('something else'), body), 400, 'DIGEST_INVALID');
    await refused(put('bad/repo', digestOf(body, 'sha512').replace(/.$/, '0'), body), 400, 'DIGEST_INVALID');
  });

  test('a malformed reference is TAG_INVALID or DIGEST_INVALID to a push or delete, unknown to a pull, never a 500', async () => {
    const body = imageManifest(config, [layer]);
    await refused(put('bad/repo', '-tag', body), 400, 'TAG_INVALID');
    await refused(put('bad/repo', 'x'.repeat(129), body), 400, 'TAG_INVALID');
    await refused(put('bad/repo', 'sha256:abc', body), 400, 'DIGEST_INVALID');
    await refused(put('bad/repo', `md5:${'a'.repeat(32)}`, body), 400, 'DIGEST_INVALID');
    await refused({ method: 'GET', url: '/v2/bad/repo/manifests/%2Dtag' }, 404, 'MANIFEST_UNKNOWN');
    await refused({ method: 'GET', url: `/v2/bad/repo/manifests/${'x'.repeat(129)}` }, 404, 'MANIFEST_UNKNOWN');
    assert.equal((await t.app.inject({ method: 'HEAD', url: '/v2/bad/repo/manifests/%2Dtag' })).statusCode, 404);
    await refused({ method: 'GET', url: '/v2/bad/repo/manifests/%zz' }, 400, 'UNSUPPORTED');
    await refused({ method: 'GET', url: '/v2/bad/repo/manifests/%E0%A4%A' }, 400, 'UNSUPPORTED');
    await refused({ method: 'GET', url: '/v2/bad/repo/blobs/sha256%3A%zz' }, 400, 'UNSUPPORTED');
    await refused({ method: 'DELETE', url: '/v2/bad/repo/manifests/.x' }, 400, 'TAG_INVALID');
  });

  test('an oversized manifest is 413 SIZE_INVALID, by Content-Length or by counting', async () => {
    const huge = JSON.stringify({ ...JSON.parse(imageManifest(config, [layer])), annotations: { pad: 'x'.repeat(manifestLimit) } });
    await refused(put('bad/repo', 'v1', huge), 413, 'SIZE_INVALID');
    const before = await storageSnapshot(t);
    const res = await fetch(`${await t.url()}/v2/bad/repo/manifests/v1`, {
      method: 'PUT',
      headers: { 'content-type': mediaTypes.ociManifest },
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 4; i++) controller.enqueue(new TextEncoder().encode(huge.slice(i * 5000, (i + 1) * 5000)));
          controller.enqueue(new TextEncoder().encode(huge.slice(20_000)));
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { errors: { code: string }[] }).errors[0].code, 'SIZE_INVALID');
    assert.deepEqual(await storageSnapshot(t), before);
  });

  test('a manifest of exactly the limit is accepted', async () => {
    const base = JSON.parse(imageManifest(config, [layer]));
    const shell = JSON.stringify({ ...base, annotations: { pad: '' } });
    const exact = JSON.stringify({ ...base, annotations: { pad: 'x'.repeat(manifestLimit - Buffer.byteLength(shell)) } });
    assert.equal(Buffer.byteLength(exact), manifestLimit);
    const res = await t.app.inject(put('bad/exact', 'v1', exact));
    assert.equal(res.statusCode, 400, 'its blobs are not in bad/exact, so the size check passed and the reference check answered');
    assert.equal(JSON.parse(res.body).errors[0].code, 'MANIFEST_BLOB_UNKNOWN');
  });
});

describe('bad blob uploads', () => {
  test('a monolithic upload whose digest does not match is DIGEST_INVALID and leaves nothing', async () => {
    const post = (digest: string) => ({ method: 'POST' as const, url: `/v2/bad/repo/blobs/uploads/?digest=${digest}`, payload: 'payload', headers: { 'content-type': 'application/octet-stream' } });
    await refused(post(digestOf('something else')), 400, 'DIGEST_INVALID');
    await refused(post('sha256:nothex'), 400, 'DIGEST_INVALID');
    await refused(post(`md5:${'a'.repeat(32)}`), 400, 'DIGEST_INVALID');
  });

  test('a chunk that leaves a gap or overlaps is 416 RANGE_INVALID and appends nothing', async () => {
    const location = await openUpload('bad/chunks', 'abcdef');
    for (const range of ['10-15', '3-8', '0-5', '7-12']) {
      await refused({ method: 'PATCH', url: location, payload: 'ghijkl', headers: { 'content-type': 'application/octet-stream', 'content-range': range } }, 416, 'RANGE_INVALID');
    }
    await refused({ method: 'PATCH', url: location, payload: 'ghijkl', headers: { 'content-type': 'application/octet-stream', 'content-range': '8-6' } }, 416, 'RANGE_INVALID');
    const status = await t.app.inject({ method: 'GET', url: location });
    assert.deepEqual([status.statusCode, status.headers.range], [204, '0-5']);
    const next = await t.app.inject({ method: 'PATCH', url: location, payload: 'ghijkl', headers: { 'content-type': 'application/octet-stream', 'content-range': '6-11' } });
    assert.deepEqual([next.statusCode, next.headers.range], [202, '0-11'], 'the upload continues after refused chunks');
    const digest = digestOf('abcdefghijkl');
    await refused({ method: 'PUT', url: `${location}?digest=${digest}`, payload: 'mnop', headers: { 'content-type': 'application/octet-stream', 'content-range': '20-23' } }, 416, 'RANGE_INVALID');
    const done = await t.app.inject({ method: 'PUT', url: `${location}?digest=${digest}` });
    assert.equal(done.statusCode, 201, done.body);
  });

  test('a refused chunk is answered at once and its connection closed, not drained to the end', async () => {
    const location = await openUpload('bad/drain', 'abc');
    const base = new URL(await t.url());
    const answer = await new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
      const req = request(
        { host: base.hostname, port: base.port, method: 'PATCH', path: location, headers: { 'content-type': 'application/octet-stream', 'content-range': '100-1000099', 'content-length': 1_000_000 } },
        (res) => {
          res.resume();
          resolve({ status: res.statusCode ?? 0, connection: res.headers.connection });
          req.destroy();
        },
      );
      req.on('error', () => undefined);
      req.write(Buffer.alloc(1000));
      setTimeout(() => reject(new Error('no answer while the body was still coming')), 5000).unref();
    });
    assert.deepEqual(answer, { status: 416, connection: 'close' });
    assert.equal((await t.app.inject({ method: 'GET', url: location })).headers.range, '0-2');
    await t.app.inject({ method: 'DELETE', url: location });
  });

  test('a malformed Content-Range, or one the Content-Length contradicts, is BLOB_UPLOAD_INVALID', async () => {
    const location = await openUpload('bad/ranges', 'abc');
    for (const range of ['bytes', 'a-b', '3', '-3', '3-']) {
      await refused({ method: 'PATCH', url: location, payload: 'def', headers: { 'content-type': 'application/octet-stream', 'content-range': range } }, 400, 'BLOB_UPLOAD_INVALID');
    }
    await refused({ method: 'PATCH', url: location, payload: 'def', headers: { 'content-type': 'application/octet-stream', 'content-range': '3-9' } }, 400, 'BLOB_UPLOAD_INVALID');
    await t.app.inject({ method: 'DELETE', url: location });
  });

  test('finishing with a wrong digest is DIGEST_INVALID and drops the upload', async () => {
    const before = await storageSnapshot(t);
    const location = await openUpload('bad/finish', 'some bytes');
    const res = await t.app.inject({ method: 'PUT', url: `${location}?digest=${digestOf('other bytes')}` });
    assertError(res, 400, 'DIGEST_INVALID');
    assert.deepEqual(await storageSnapshot(t), before, 'the session and its ingest are gone, no blob appeared');
    await refused({ method: 'GET', url: location }, 404, 'BLOB_UPLOAD_UNKNOWN');
  });

  test('finishing without a digest, or with a malformed one, is DIGEST_INVALID and keeps the upload', async () => {
    const location = await openUpload('bad/nodigest', 'bytes');
    await refused({ method: 'PUT', url: location }, 400, 'DIGEST_INVALID');
    await refused({ method: 'PUT', url: `${location}?digest=sha256:zz` }, 400, 'DIGEST_INVALID');
    assert.equal((await t.app.inject({ method: 'GET', url: location })).headers.range, '0-4');
    await t.app.inject({ method: 'DELETE', url: location });
  });

  test('unknown, foreign and malformed upload ids are BLOB_UPLOAD_UNKNOWN', async () => {
    const location = await openUpload('bad/owner', 'mine');
    const id = location.split('/').pop();
    for (const method of ['GET', 'PATCH', 'PUT', 'DELETE'] as const) {
      await refused({ method, url: `/v2/bad/thief/blobs/uploads/${id}?digest=${digestOf('mine')}` }, 404, 'BLOB_UPLOAD_UNKNOWN');
      await refused({ method, url: `/v2/bad/owner/blobs/uploads/00000000-0000-0000-0000-000000000000?digest=${digestOf('x')}` }, 404, 'BLOB_UPLOAD_UNKNOWN');
      await refused({ method, url: `/v2/bad/owner/blobs/uploads/..%2F..%2Fetc?digest=${digestOf('x')}` }, 404, 'BLOB_UPLOAD_UNKNOWN');
    }
    await t.app.inject({ method: 'DELETE', url: location });
  });

  test('a mount of a malformed digest is DIGEST_INVALID', async () => {
    await refused({ method: 'POST', url: '/v2/bad/repo/blobs/uploads/?mount=sha256:nope&from=bad/repo' }, 400, 'DIGEST_INVALID');
  });
});

describe('unknown things', () => {
  test('unknown blobs, manifests, repositories and pages answer their codes', async () => {
    await refused({ method: 'GET', url: `/v2/bad/repo/blobs/${digestOf('nothing')}` }, 404, 'BLOB_UNKNOWN');
    await refused({ method: 'HEAD', url: `/v2/bad/repo/blobs/${digestOf('nothing')}` }, 404, 'BLOB_UNKNOWN');
    await refused({ method: 'DELETE', url: `/v2/bad/repo/blobs/${digestOf('nothing')}` }, 404, 'BLOB_UNKNOWN');
    await refused({ method: 'GET', url: '/v2/bad/repo/blobs/sha256:xyz' }, 400, 'DIGEST_INVALID');
    await refused({ method: 'GET', url: '/v2/bad/repo/manifests/nope' }, 404, 'MANIFEST_UNKNOWN');
    await refused({ method: 'HEAD', url: `/v2/bad/repo/manifests/${digestOf('nope')}` }, 404, 'MANIFEST_UNKNOWN');
    await refused({ method: 'GET', url: '/v2/never/pushed/tags/list' }, 404, 'NAME_UNKNOWN');
    await refused({ method: 'GET', url: '/v2/bad/repo/referrers/not-a-digest' }, 400, 'DIGEST_INVALID');
    for (const n of ['abc', '-1', '1.5', '1e3']) {
      await refused({ method: 'GET', url: `/v2/bad/repo/tags/list?n=${n}` }, 400, 'PAGINATION_NUMBER_INVALID');
      await refused({ method: 'GET', url: `/v2/_catalog?n=${n}` }, 400, 'PAGINATION_NUMBER_INVALID');
    }
  });

  test('unknown routes answer 404 and wrong methods 405, both as registry JSON with UNSUPPORTED', async () => {
    for (const url of ['/v2/some/thing/unknown', '/v2/a/manifests/', '/v2/a/blobs/uploads/x/y', '/v2/_catalog/x', '/v2/a/tags']) {
      await refused({ method: 'GET', url }, 404, 'UNSUPPORTED');
    }
    const cases: [InjectOptions['method'], string, string][] = [
      ['POST', '/v2/some/thing/tags/list', 'GET'],
      ['PUT', '/v2/_catalog', 'GET'],
      ['POST', `/v2/a/manifests/v1`, 'GET, HEAD, PUT, DELETE'],
      ['PATCH', `/v2/a/blobs/${digestOf('x')}`, 'GET, HEAD, DELETE'],
      ['PUT', '/v2/a/blobs/uploads/', 'POST'],
      ['POST', '/v2/', 'GET, HEAD'],
      ['OPTIONS', '/v2/a/manifests/v1', 'GET, HEAD, PUT, DELETE'],
      ['DELETE', `/v2/a/referrers/${digestOf('x')}`, 'GET'],
      ['PROPFIND' as 'GET', '/v2/a/manifests/v1', 'GET, HEAD, PUT, DELETE'],
    ];
    for (const [method, url, allow] of cases) {
      const before = await storageSnapshot(t);
      const res = await t.app.inject({ method, url });
      assertError(res, 405, 'UNSUPPORTED', `${method} ${url}`);
      assert.equal(res.headers.allow, allow);
      assert.deepEqual(await storageSnapshot(t), before);
    }
  });

  test('the pushed image is untouched by all of the above', async () => {
    const image = await pushImage(t.app, 'bad/repo', 'still-fine');
    const res = await t.app.inject({ method: 'GET', url: '/v2/bad/repo/manifests/still-fine' });
    assert.equal(res.body, image.body);
  });
});
