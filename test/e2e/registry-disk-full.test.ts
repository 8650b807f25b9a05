import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { pino } from 'pino';
import { digestOf } from '../../src/oci/digest.ts';
import { mediaTypes } from '../../src/oci/media-types.ts';
import { startTestV1, tarOf, type TestV1, v1Image } from '../../src/registry/v1/test-v1.ts';
import { imageManifest, pushBlob, putManifest } from '../../src/registry/v2/test-registry.ts';
import { run, runOk } from '../support/run.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';

// issue 8: a full disk answered 500 UNKNOWN and kept what it had written. The registry root is a real 8 MiB tmpfs.
const diskBytes = 8 * 1024 * 1024;
const tooBig = randomBytes(12 * 1024 * 1024);
const canMount = process.getuid?.() === 0;

function freeBytes(path: string): number {
  const s = statfsSync(path);
  return s.bavail * s.bsize;
}

function ingests(root: string): string[] {
  try {
    return readdirSync(join(root, 'ingest'));
  } catch {
    return [];
  }
}

describe('a full registry disk', { skip: canMount ? false : 'mounting a tmpfs needs root' }, () => {
  let dir: TempDir;
  let t: TestV1;
  const logLines: string[] = [];

  before(async () => {
    dir = makeTempDir('wharf-disk-full-');
    await runOk('mount', ['-t', 'tmpfs', '-o', `size=${diskBytes}`, 'tmpfs', dir.path]);
    const sink = new Writable({ write: (chunk, _enc, done) => void (logLines.push(String(chunk)), done()) });
    t = await startTestV1({ root: dir.path }, { logger: pino({ level: 'error' }, sink) });
    await t.app.inject('/v2/');
  });

  after(async () => {
    await t?.close();
    await run('umount', [dir.path]);
    dir.remove();
  });

  /** 507 UNKNOWN naming the disk, a log line, and the space back within what SQLite may keep (a few pages). */
  function assertFullAndFreed(res: LightMyRequestResponse, what: string, before: number): void {
    assert.equal(res.statusCode, 507, `${what}: ${res.body}`);
    const error = JSON.parse(res.body) as { errors: { code: string; message: string; detail: { disk: string; reason: string } }[] };
    assert.equal(error.errors[0].code, 'UNKNOWN', what);
    assert.match(error.errors[0].message, /insufficient storage: no space left on the disk holding/);
    assert.deepEqual(error.errors[0].detail, { disk: dir.path, reason: 'ENOSPC' }, what);
    assert.ok(logLines.some((l) => l.includes('storage is full')), `${what}: logged`);
    logLines.length = 0;
    assert.deepEqual(ingests(dir.path), [], `${what}: no ingest left`);
    assert.ok(freeBytes(dir.path) >= before - 256 * 1024, `${what}: ${freeBytes(dir.path)} bytes free, ${before} before`);
  }

  test('a monolithic blob POST that does not fit answers 507 and frees its bytes; a small one fits afterwards', async () => {
    const before = freeBytes(dir.path);
    const res = await t.app.inject({ method: 'POST', url: `/v2/full/mono/blobs/uploads/?digest=${digestOf(tooBig)}`, payload: tooBig });
    assertFullAndFreed(res, 'POST ?digest=', before);
    await pushBlob(t.app, 'full/mono', randomBytes(100_000));
  });

  test('a PATCH that does not fit answers 507, drops the upload and its bytes', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/full/chunked/blobs/uploads/' });
    const location = start.headers.location as string;
    const before = freeBytes(dir.path);
    const res = await t.app.inject({ method: 'PATCH', url: location, payload: tooBig, headers: { 'content-type': 'application/octet-stream' } });
    assertFullAndFreed(res, 'PATCH', before);
    assert.equal((await t.app.inject({ method: 'GET', url: location })).statusCode, 404, 'the upload is gone: the client starts over');
    const small = randomBytes(200_000);
    const again = await t.app.inject({ method: 'POST', url: '/v2/full/chunked/blobs/uploads/' });
    const patched = await t.app.inject({ method: 'PATCH', url: again.headers.location as string, payload: small, headers: { 'content-type': 'application/octet-stream' } });
    assert.equal(patched.statusCode, 202, patched.body);
    const done = await t.app.inject({ method: 'PUT', url: `${again.headers.location}?digest=${digestOf(small)}` });
    assert.equal(done.statusCode, 201, done.body);
  });

  test('a closing PUT with a body that does not fit answers 507 and drops the upload', async () => {
    const start = await t.app.inject({ method: 'POST', url: '/v2/full/put/blobs/uploads/' });
    const location = start.headers.location as string;
    const before = freeBytes(dir.path);
    const res = await t.app.inject({ method: 'PUT', url: `${location}?digest=${digestOf(tooBig)}`, payload: tooBig, headers: { 'content-type': 'application/octet-stream' } });
    assertFullAndFreed(res, 'PUT ?digest=', before);
    assert.equal((await t.app.inject({ method: 'GET', url: location })).statusCode, 404);
  });

  test('a v1 layer PUT that does not fit answers 507 with the message and frees its bytes', async () => {
    const image = v1Image({ small: 'x' });
    assert.equal((await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/json`, payload: image.json })).statusCode, 200);
    const big = tarOf({ big: randomBytes(9 * 1024 * 1024).toString('base64') });
    const before = freeBytes(dir.path);
    const res = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/layer`, payload: big });
    assert.equal(res.statusCode, 507, res.body);
    assert.match((JSON.parse(res.body) as { error: string }).error, /no space left on the disk holding/);
    assert.ok(logLines.some((l) => l.includes('storage is full')), 'logged');
    logLines.length = 0;
    assert.deepEqual(ingests(dir.path), []);
    assert.ok(freeBytes(dir.path) >= before - 256 * 1024, `${freeBytes(dir.path)} free, ${before} before`);
    const layer = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/layer`, payload: image.gz });
    assert.equal(layer.statusCode, 200, layer.body);
    const checksum = await t.app.inject({ method: 'PUT', url: `/v1/images/${image.id}/checksum`, headers: { 'x-docker-checksum-payload': image.payload } });
    assert.equal(checksum.statusCode, 200, checksum.body);
  });

  test('a manifest PUT on a nearly full disk answers 507 and leaves its bytes nowhere; a small one fits', async () => {
    const config = await pushBlob(t.app, 'full/manifest', JSON.stringify({ architecture: 'amd64', os: 'linux' }));
    const layer = await pushBlob(t.app, 'full/manifest', 'layer');
    const filler = randomBytes(Math.max(freeBytes(dir.path) - 1024 * 1024, 0));
    const fill = await pushBlob(t.app, 'full/filler', filler);
    try {
      const before = freeBytes(dir.path);
      const huge = imageManifest(config, [layer], { annotations: { pad: randomBytes(1536 * 1024).toString('hex').slice(0, 3_000_000) } });
      const res = await putManifest(t.app, 'full/manifest', 'huge', huge);
      assert.equal(res.statusCode, 507, res.body);
      assert.equal((JSON.parse(res.body) as { errors: { code: string }[] }).errors[0].code, 'UNKNOWN');
      assert.deepEqual(ingests(dir.path), []);
      assert.ok(freeBytes(dir.path) >= before - 256 * 1024, `${freeBytes(dir.path)} free, ${before} before`);
      const small = await putManifest(t.app, 'full/manifest', 'small', imageManifest(config, [layer]), mediaTypes.ociManifest);
      assert.equal(small.statusCode, 201, small.body);
    } finally {
      await t.registry.blobs.delete(fill.digest);
    }
  });
});
