import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import fc from 'fast-check';
import type { InjectOptions } from 'fastify';
import { digestOf } from '../oci/digest.ts';
import { mediaTypes } from '../oci/media-types.ts';
import { basic, startTestV1, type TestV1 } from './v1/test-v1.ts';

// CI runs a fixed seed; WHARF_FUZZ_SEED picks another (a failure prints the seed that found it).
const seed = Number(process.env.WHARF_FUZZ_SEED ?? 8);
const numRuns = 1000;
const repo = 'fuzz/repo';
const auth = basic('fuzz', 'fuzz-password');

const hugeNumbers = fc.constantFrom(-1, 0, 1.5, 2 ** 53 + 1, 1e308, -1e308, Number.MAX_SAFE_INTEGER, 1e21);
const badDigests = fc.oneof(
  fc.constantFrom('sha256:', 'sha256:xyz', 'md5:abc', `sha256:${'A'.repeat(64)}`, `sha512:${'0'.repeat(64)}`, `sha256:${'0'.repeat(64)}`, '../../etc/passwd', ''),
  fc.string({ maxLength: 80 }),
);
const mediaTypeLike = fc.oneof(fc.constantFrom(...Object.values(mediaTypes), 'application/json', 'text/plain', '*/*', ''), fc.string({ maxLength: 60 }));
/** Nested arrays as JSON text: deep enough to break a recursive parser or validator, kept as text for fast-check. */
const deepText = fc.integer({ min: 1, max: 20_000 }).map((n) => `${'['.repeat(n)}${']'.repeat(n)}`);
const deep = fc.integer({ min: 1, max: 100 }).map((n) => JSON.parse(`${'['.repeat(n)}${']'.repeat(n)}`) as unknown);
const anyValue = fc.oneof(fc.jsonValue({ maxDepth: 3 }), hugeNumbers, badDigests, mediaTypeLike, deep);

const paths: (string | number)[][] = [
  ['schemaVersion'], ['mediaType'], ['config'], ['config', 'digest'], ['config', 'size'], ['config', 'mediaType'], ['layers'],
  ['layers', 0], ['layers', 0, 'digest'], ['layers', 0, 'size'], ['layers', 0, 'mediaType'], ['layers', 0, 'urls'], ['layers', 5],
  ['subject'], ['subject', 'digest'], ['annotations'], ['annotations', 'k'], ['artifactType'], ['manifests'], ['manifests', 0], ['blobs'],
];

/** Sets `value` at `path` in a copy of `base`, creating containers on the way (of the wrong kind, sometimes). */
function mutate(base: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  const container = (typeof base === 'object' && base !== null ? structuredClone(base) : typeof head === 'number' ? [] : {}) as Record<string | number, unknown>;
  container[head] = mutate(container[head], rest, value);
  return container;
}

describe('fuzzing the registry with manifests and headers', { timeout: 120_000 }, () => {
  let t: TestV1;
  let valid: Record<string, unknown>;
  let index: Record<string, unknown>;

  before(async () => {
    t = await startTestV1({ auth: { mode: 'htpasswd' } });
    await t.addUser('fuzz', 'fuzz-password', { admin: true });
    const push = async (data: string) => {
      const body = Buffer.from(data);
      const res = await t.app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/?digest=${digestOf(body)}`, payload: body, headers: auth });
      assert.equal(res.statusCode, 201, res.body);
      return { digest: digestOf(body), size: body.length };
    };
    const config = await push(JSON.stringify({ architecture: 'amd64', os: 'linux' }));
    const layer = await push('layer bytes');
    valid = { schemaVersion: 2, mediaType: mediaTypes.ociManifest, config: { mediaType: mediaTypes.ociConfig, ...config }, layers: [{ mediaType: mediaTypes.ociLayerGzip, ...layer }] };
    const child = await t.app.inject({ method: 'PUT', url: `/v2/${repo}/manifests/base`, payload: JSON.stringify(valid), headers: { ...auth, 'content-type': mediaTypes.ociManifest } });
    assert.equal(child.statusCode, 201, child.body);
    const childDigest = child.headers['docker-content-digest'] as string;
    index = { schemaVersion: 2, mediaType: mediaTypes.ociIndex, manifests: [{ mediaType: mediaTypes.ociManifest, digest: childDigest, size: JSON.stringify(valid).length }] };
  });

  after(() => t.close());

  const check = async <T>(arbitrary: fc.Arbitrary<T>, toRequest: (value: T) => InjectOptions) => {
    const property = fc.asyncProperty(arbitrary, async (value) => {
      const request = toRequest(value);
      const res = await t.app.inject(request);
      const what = `${request.method} ${request.url} -> ${res.statusCode} ${res.body.slice(0, 300)}`;
      assert.ok(res.statusCode < 500, what);
      if (res.statusCode >= 400 && request.method !== 'HEAD') assert.ok(Array.isArray((JSON.parse(res.body) as { errors?: unknown }).errors), `not the registry error shape: ${what}`);
    });
    const result = await fc.check(property, { seed, numRuns });
    if (result.failed) assert.fail(`seed ${seed} (WHARF_FUZZ_SEED=${seed}): ${fc.defaultReportMessage(result)}`);
  };

  const reference = fc.oneof(fc.constantFrom('latest', 'v1.0', `sha256:${'0'.repeat(64)}`, 'a'.repeat(129), '-bad', '..'), fc.stringMatching(/^[\w.-]{1,20}$/));
  const authorization = fc.oneof(
    { weight: 6, arbitrary: fc.constant(auth.authorization) },
    fc.constantFrom('Basic', 'Basic !!!', `Basic ${Buffer.from('fuzz').toString('base64')}`, 'Bearer x.y.z', 'Bearer', 'Negotiate abc', ''),
    fc.string({ maxLength: 60 }).map((s) => `Basic ${Buffer.from(s).toString('base64')}`),
  );
  const printable = (maxLength: number) => fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength });

  test('manifest PUTs of arbitrary JSON, mutated manifests and raw bytes never answer 5xx, and errors keep the registry shape', async () => {
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.tuple(fc.constantFrom(...paths), anyValue, fc.boolean()).map(([path, value, ofIndex]) => JSON.stringify(mutate(ofIndex ? index : valid, path, value))),
      fc.uint8Array({ maxLength: 300 }).map((bytes) => Buffer.from(bytes)),
      deepText,
      deepText.map((text) => JSON.stringify(valid).replace(/}$/, `,"annotations":{"k":${text}},"subject":${text}}`)),
    );
    const contentType = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(mediaTypes.ociManifest, mediaTypes.ociIndex, mediaTypes.dockerManifest, 'application/json') }, mediaTypeLike);
    await check(fc.tuple(reference, contentType, body, authorization), ([ref, contentType, payload, authz]) => ({
      method: 'PUT',
      url: `/v2/${repo}/manifests/${encodeURIComponent(ref)}`,
      payload,
      headers: { 'content-type': printableOnly(contentType), authorization: printableOnly(authz) },
    }));
  });

  test('upload requests with arbitrary Content-Range, Content-Type, digest and mount parameters never answer 5xx', async () => {
    const start = await t.app.inject({ method: 'POST', url: `/v2/${repo}/blobs/uploads/`, headers: auth });
    const location = start.headers.location as string;
    const upload = fc.record({
      method: fc.constantFrom('POST', 'PATCH', 'PUT', 'GET', 'DELETE'),
      target: fc.constantFrom(location, `/v2/${repo}/blobs/uploads/`, `/v2/${repo}/blobs/uploads/unknown-id`, `/v2/${repo}/blobs/uploads/%zz`),
      digest: fc.option(badDigests, { nil: undefined }),
      mount: fc.option(badDigests, { nil: undefined }),
      from: fc.option(fc.constantFrom(repo, 'fuzz/other', '../x', ''), { nil: undefined }),
      contentRange: fc.option(fc.oneof(fc.constantFrom('0-0', '0-9', '5-2', '0-18446744073709551615', '-1-3', 'bytes=0-9'), printable(30)), { nil: undefined }),
      contentType: fc.option(printable(40), { nil: undefined }),
      body: fc.uint8Array({ maxLength: 64 }),
      authorization,
    });
    await check(upload, (u) => {
      const query = [u.digest !== undefined ? `digest=${encodeURIComponent(u.digest)}` : '', u.mount !== undefined ? `mount=${encodeURIComponent(u.mount)}` : '', u.from !== undefined ? `from=${encodeURIComponent(u.from)}` : ''].filter(Boolean).join('&');
      const headers: Record<string, string> = { authorization: printableOnly(u.authorization) };
      if (u.contentRange !== undefined) headers['content-range'] = u.contentRange;
      if (u.contentType !== undefined) headers['content-type'] = u.contentType;
      const hasBody = u.method !== 'GET' && u.method !== 'DELETE';
      return { method: u.method as InjectOptions['method'], url: `${u.target}${query ? `?${query}` : ''}`, headers, ...(hasBody ? { payload: Buffer.from(u.body) } : {}) };
    });
  });

  test('GETs with arbitrary Range and Accept headers never answer 5xx, and /v2/ answers afterwards', async () => {
    const blob = (valid.layers as { digest: string }[])[0].digest;
    const get = fc.record({
      method: fc.constantFrom('GET', 'HEAD'),
      url: fc.constantFrom(`/v2/${repo}/blobs/${blob}`, `/v2/${repo}/manifests/base`, `/v2/${repo}/manifests/${blob}`, `/v2/${repo}/tags/list?n=abc`, '/v2/_catalog?n=-1', `/v2/${repo}/referrers/${blob}?artifactType=%ff`),
      range: fc.option(fc.oneof(fc.constantFrom('bytes=0-', 'bytes=-0', 'bytes=5-1', 'bytes=0-99999999999999999999', 'bytes=1-2,3-4', 'items=0-1'), printable(30)), { nil: undefined }),
      accept: fc.option(fc.oneof(mediaTypeLike.map(printableOnly), printable(80)), { nil: undefined }),
      ifNoneMatch: fc.option(printable(80), { nil: undefined }),
      authorization,
    });
    await check(get, (g) => {
      const headers: Record<string, string> = { authorization: printableOnly(g.authorization) };
      if (g.range !== undefined) headers.range = g.range;
      if (g.accept !== undefined) headers.accept = g.accept;
      if (g.ifNoneMatch !== undefined) headers['if-none-match'] = g.ifNoneMatch;
      return { method: g.method as InjectOptions['method'], url: g.url, headers };
    });
    const base = await t.app.inject({ method: 'GET', url: '/v2/', headers: auth });
    assert.equal(base.statusCode, 200, base.body);
  });
});

/** Header values must be printable ASCII on the wire; a client cannot send anything else. */
function printableOnly(value: string): string {
  return value.replace(/[^\x20-\x7e]/g, '');
}
