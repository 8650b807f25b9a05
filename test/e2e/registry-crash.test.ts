import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { type ClientRequest, request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../support/ports.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { spawnWharfProcess, type WharfProcess } from '../support/wharf.ts';

const MiB = 1024 * 1024;
const REPO = 'crash/app';
const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function pushBlob(url: string, data: Buffer): Promise<string> {
  const digest = sha256(data);
  const res = await fetch(`${url}/v2/${REPO}/blobs/uploads/?digest=${digest}`, { method: 'POST', body: data });
  assert.equal(res.status, 201, await res.text());
  return digest;
}

async function startUpload(url: string): Promise<string> {
  const res = await fetch(`${url}/v2/${REPO}/blobs/uploads/`, { method: 'POST' });
  assert.equal(res.status, 202);
  return new URL(res.headers.get('location') ?? '', url).toString();
}

function withDigest(location: string, digest: string): string {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  return url.toString();
}

/**
 * Opens a request, sends `first`, then stalls with the body unfinished, so the server can be killed mid-stream.
 * Resolves once the bytes have left and the server had time to write them; the request dies with the server.
 */
async function stalledRequest(method: 'PATCH' | 'PUT', url: string, first: Buffer): Promise<ClientRequest> {
  const req = request(url, { method, headers: { 'content-type': 'application/octet-stream' } });
  req.on('error', () => {});
  await new Promise<void>((resolve) => req.write(first, () => resolve()));
  await sleep(400);
  return req;
}

/** Every committed file must hash to its name: a blob is either absent or whole. */
function assertNoBadBlob(root: string): number {
  const dir = join(root, 'blobs', 'sha256');
  if (!existsSync(dir)) return 0;
  let count = 0;
  for (const shard of readdirSync(dir)) {
    for (const file of readdirSync(join(dir, shard))) {
      assert.equal(sha256(readFileSync(join(dir, shard, file))), `sha256:${file}`, `blobs/sha256/${shard}/${file} holds other bytes`);
      count++;
    }
  }
  return count;
}

async function assertInvisible(url: string, digest: string): Promise<void> {
  const head = await fetch(`${url}/v2/${REPO}/blobs/${digest}`, { method: 'HEAD' });
  assert.equal(head.status, 404, 'an uncommitted blob is never visible');
  const get = await fetch(`${url}/v2/${REPO}/blobs/${digest}`);
  assert.equal(get.status, 404);
  await get.body?.cancel();
}

async function assertServed(url: string, digest: string): Promise<void> {
  const res = await fetch(`${url}/v2/${REPO}/blobs/${digest}`);
  assert.equal(res.status, 200);
  assert.equal(sha256(Buffer.from(await res.arrayBuffer())), digest);
}

/**
 * After a crash the interrupted upload either resumes where the store says it stopped (GET status, PATCH the rest,
 * PUT with the digest) or is refused with BLOB_UPLOAD_UNKNOWN, in which case a fresh upload must work. Returns the
 * offset it resumed from, or undefined when refused.
 */
async function finishAfterCrash(url: string, location: string, data: Buffer): Promise<number | undefined> {
  const digest = sha256(data);
  const status = await fetch(location);
  if (status.status === 404) {
    const body = (await status.json()) as { errors: { code: string }[] };
    assert.equal(body.errors[0]?.code, 'BLOB_UPLOAD_UNKNOWN');
    const refused = await fetch(withDigest(location, digest), { method: 'PUT', body: data });
    assert.equal(refused.status, 404, 'a refused upload stays refused');
    await refused.body?.cancel();
    await pushBlob(url, data);
    return undefined;
  }
  assert.equal(status.status, 204);
  assert.match(status.headers.get('location') ?? '', /blobs\/uploads\//);
  const offset = Number((status.headers.get('range') ?? '').split('-')[1]) + 1;
  assert.ok(offset > 0 && offset <= data.length, `resume offset ${offset}`);
  const next = new URL(status.headers.get('location') ?? '', url).toString();
  const rest = await fetch(next, {
    method: 'PATCH',
    body: data.subarray(offset),
    headers: { 'content-type': 'application/octet-stream', 'content-range': `${offset}-${data.length - 1}` },
  });
  assert.equal(rest.status, 202, await rest.text());
  const done = await fetch(withDigest(new URL(rest.headers.get('location') ?? '', url).toString(), digest), { method: 'PUT' });
  assert.equal(done.status, 201, await done.text());
  assert.equal(done.headers.get('docker-content-digest'), digest);
  return offset;
}

// A real `bin/wharf registry serve` process killed with SIGKILL and restarted on the same root: nothing committed
// may be lost, nothing half-written may show, and an interrupted upload resumes or is refused cleanly.
describe('kill -9 in the middle of a push', () => {
  let tmp: TempDir;
  let port: number;
  let wharf: WharfProcess;
  const committed: string[] = [];
  let manifest: Buffer;

  const restart = async () => {
    await wharf.kill9();
    wharf = await spawnWharfProcess({ root: tmp.path, port });
  };

  /** What was committed before any crash is still served, byte for byte. */
  const assertCommittedIntact = async () => {
    assertNoBadBlob(tmp.path);
    for (const digest of committed) await assertServed(wharf.url, digest);
    const got = await fetch(`${wharf.url}/v2/${REPO}/manifests/v1`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('docker-content-digest'), sha256(manifest));
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(manifest));
  };

  before(async () => {
    tmp = makeTempDir('wharf-crash-');
    port = await freePort();
    wharf = await spawnWharfProcess({ root: tmp.path, port });
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const layer = randomBytes(2 * MiB + 3);
    committed.push(await pushBlob(wharf.url, config), await pushBlob(wharf.url, layer));
    manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: committed[0], size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest: committed[1], size: layer.length }],
      }),
    );
    const put = await fetch(`${wharf.url}/v2/${REPO}/manifests/v1`, {
      method: 'PUT',
      body: manifest,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(put.status, 201);
  });

  after(async () => {
    await wharf?.stop().catch(() => {});
    tmp?.remove();
  });

  test('killed mid-PATCH: committed data intact, the upload resumes from what reached the disk', async (t) => {
    const big = randomBytes(24 * MiB);
    const location = await startUpload(wharf.url);
    const first = await fetch(location, {
      method: 'PATCH',
      body: big.subarray(0, 8 * MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${8 * MiB - 1}` },
    });
    assert.equal(first.status, 202);
    const next = new URL(first.headers.get('location') ?? '', wharf.url).toString();
    await stalledRequest('PATCH', next, big.subarray(8 * MiB, 12 * MiB));
    await assertInvisible(wharf.url, sha256(big));
    await restart();

    await assertInvisible(wharf.url, sha256(big));
    await assertCommittedIntact();
    const offset = await finishAfterCrash(wharf.url, next, big);
    t.diagnostic(offset === undefined ? 'refused: BLOB_UPLOAD_UNKNOWN' : `resumed at ${offset}`);
    if (offset !== undefined) assert.ok(offset >= 8 * MiB && offset <= 12 * MiB, `resumed at ${offset}: the acknowledged chunk survives`);
    await assertServed(wharf.url, sha256(big));
    committed.push(sha256(big));
  });

  test('killed mid-way through a monolithic PUT: nothing visible, the upload resumes or is refused cleanly', async (t) => {
    const blob = randomBytes(16 * MiB);
    const location = await startUpload(wharf.url);
    await stalledRequest('PUT', withDigest(location, sha256(blob)), blob.subarray(0, 6 * MiB));
    await assertInvisible(wharf.url, sha256(blob));
    await restart();

    await assertInvisible(wharf.url, sha256(blob));
    await assertCommittedIntact();
    const offset = await finishAfterCrash(wharf.url, location, blob);
    t.diagnostic(offset === undefined ? 'refused: BLOB_UPLOAD_UNKNOWN' : `resumed at ${offset}`);
    if (offset !== undefined) assert.ok(offset <= 6 * MiB, `resumed at ${offset}`);
    await assertServed(wharf.url, sha256(blob));
    committed.push(sha256(blob));
  });

  test('killed between chunks: the acknowledged chunks are kept exactly', async (t) => {
    const blob = randomBytes(12 * MiB + 5);
    const location = await startUpload(wharf.url);
    const first = await fetch(location, {
      method: 'PATCH',
      body: blob.subarray(0, 5 * MiB),
      headers: { 'content-type': 'application/octet-stream', 'content-range': `0-${5 * MiB - 1}` },
    });
    assert.equal(first.status, 202);
    await restart();

    await assertCommittedIntact();
    const offset = await finishAfterCrash(wharf.url, new URL(first.headers.get('location') ?? '', wharf.url).toString(), blob);
    t.diagnostic(offset === undefined ? 'refused: BLOB_UPLOAD_UNKNOWN' : `resumed at ${offset}`);
    if (offset !== undefined) assert.equal(offset, 5 * MiB, 'a 202 means the chunk is on disk');
    await assertServed(wharf.url, sha256(blob));
    committed.push(sha256(blob));
  });

  test('killed right after a 201: the blob, the manifest and the tag it answered for are durable', async () => {
    const blob = randomBytes(3 * MiB);
    const digest = await pushBlob(wharf.url, blob);
    const config = Buffer.from(JSON.stringify({ architecture: 'arm64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }));
    const configDigest = await pushBlob(wharf.url, config);
    const second = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
        layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', digest, size: blob.length }],
      }),
    );
    const put = await fetch(`${wharf.url}/v2/${REPO}/manifests/v2`, {
      method: 'PUT',
      body: second,
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
    });
    assert.equal(put.status, 201);
    await restart();

    await assertCommittedIntact();
    await assertServed(wharf.url, digest);
    const got = await fetch(`${wharf.url}/v2/${REPO}/manifests/v2`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    assert.equal(got.status, 200);
    assert.equal(sha256(Buffer.from(await got.arrayBuffer())), sha256(second));
    const tags = (await (await fetch(`${wharf.url}/v2/${REPO}/tags/list`)).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['v1', 'v2']);
  });

  test('after all the crashes every file under blobs/ is whole and a graceful restart serves everything', async () => {
    assert.ok(assertNoBadBlob(tmp.path) >= committed.length);
    await wharf.stop();
    wharf = await spawnWharfProcess({ root: tmp.path, port });
    await assertCommittedIntact();
  });
});
