import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import pg from 'pg';
import { importBusybox, makeRandomLayerImage, type RandomLayerImage } from '../support/busybox.ts';
import { type Dockerd, startDockerd } from '../support/dockerd.ts';
import { type Haproxy, startHaproxy } from '../support/haproxy.ts';
import { waitFor } from '../support/ports.ts';
import { startPostgres, type Postgres } from '../support/postgres.ts';
import { skopeoCopy, skopeoInspect } from '../support/skopeo.ts';
import { makeTempDir, type TempDir } from '../support/temp.ts';
import { pushTinyImage } from '../support/tiny-image.ts';
import { run } from '../support/run.ts';
import { spawnWharfProcess, type WharfProcess, wharfBin } from '../support/wharf.ts';
import { PgAdvisoryLocks } from '../../src/meta/pg-advisory-locks.ts';
import { PgGcLock } from '../../src/meta/pg-gc-lock.ts';
import { openPgPool } from '../../src/meta/pg-pool.ts';

const sha256 = (body: Buffer | string) => `sha256:${createHash('sha256').update(body).digest('hex')}`;
const manifestType = 'application/vnd.oci.image.manifest.v1+json';

/** The digest a GET of the tag answers, undefined on 404. */
async function tagDigest(base: string, repo: string, tag: string): Promise<string | undefined> {
  const res = await fetch(`${base}/v2/${repo}/manifests/${tag}`, { headers: { accept: manifestType } });
  const body = Buffer.from(await res.arrayBuffer());
  if (res.status === 404) return undefined;
  assert.equal(res.status, 200, body.toString());
  assert.equal(res.headers.get('docker-content-digest'), sha256(body), 'the body is the manifest the header names');
  return sha256(body);
}

/**
 * A PATCH whose body is sent in two halves; `between` runs after the first half reached the replica. The
 * request's own outcome is returned, not thrown (the replica may be killed under it).
 */
function patchInTwo(url: string, start: number, body: Buffer, between: () => Promise<void>): Promise<number | Error> {
  return new Promise((resolve) => {
    const req = request(url, {
      method: 'PATCH',
      headers: { 'content-type': 'application/octet-stream', 'content-length': body.length, 'content-range': `${start}-${start + body.length - 1}` },
    });
    req.on('response', (res) => { res.resume(); resolve(res.statusCode ?? 0); });
    req.on('error', resolve);
    const half = Math.floor(body.length / 2);
    req.write(body.subarray(0, half), () => void between().catch(resolve));
  });
}

// Two `wharf registry serve` processes on one PostgreSQL and one root directory, one haproxy in front: one registry.
describe('two registry replicas behind haproxy', () => {
  let postgres: Postgres;
  let tmp: TempDir;
  let root: string;
  let replicas: WharfProcess[] = [];
  let haproxy: Haproxy;
  let dockerd: Dockerd | undefined;
  let image: RandomLayerImage;

  before(async () => {
    tmp = makeTempDir('wharf-replicas-');
    root = join(tmp.path, 'root');
    [postgres, image] = await Promise.all([
      startPostgres(),
      makeRandomLayerImage(join(tmp.path, 'oci'), { layerBytes: 2 * 1024 * 1024 + 5, format: 'oci', tag: 'latest' }),
    ]);
    // One after the other: the second finds the schema the first migrated.
    for (let i = 0; i < 2; i++) replicas.push(await spawnWharfProcess({ root, args: ['--meta-url', postgres.url] }));
    haproxy = await startHaproxy({ backends: replicas.map((r) => r.host) });
  });

  after(async () => {
    await dockerd?.stop();
    await haproxy?.close();
    await Promise.all(replicas.map((r) => r.stop()));
    await postgres?.close();
    tmp?.remove();
  });

  test('skopeo pushes and pulls through haproxy', async () => {
    const remote = `docker://${haproxy.host}/e2e/lb:v1`;
    await skopeoCopy(image.ref, remote, { preserveDigests: true });
    assert.equal((await skopeoInspect(remote)).Digest, image.manifestDigest);
    const back = join(tmp.path, 'back-lb');
    await skopeoCopy(remote, `oci:${back}:v1`, { preserveDigests: true });
    assert.equal(sha256(Buffer.from(readLayer(back, image))), image.layer.digest, 'the layer came back byte for byte');
  });

  test('an image pushed through one replica pulls through the other', async () => {
    const [a, b] = replicas;
    await skopeoCopy(image.ref, `docker://${a.host}/e2e/direct:v1`, { preserveDigests: true });
    const inspect = await skopeoInspect(`docker://${b.host}/e2e/direct:v1`);
    assert.equal(inspect.Digest, image.manifestDigest);
    const back = join(tmp.path, 'back-direct');
    await skopeoCopy(`docker://${b.host}/e2e/direct:v1`, `oci:${back}:v1`, { preserveDigests: true });
    assert.equal(sha256(Buffer.from(readLayer(back, image))), image.layer.digest);
  });

  test('a tag moved or deleted through one replica is seen at once through the other', async () => {
    const [a, b] = replicas;
    for (let round = 0; round < 10; round++) {
      const digest = await pushTinyImage(a.url, 'e2e/moving', 'current', `round ${round}`);
      // Read through b right after a answered: no window in which b serves the previous digest.
      assert.equal(await tagDigest(b.url, 'e2e/moving', 'current'), digest, `round ${round}`);
      assert.equal(await tagDigest(haproxy.url, 'e2e/moving', 'current'), digest);
    }
    const res = await fetch(`${a.url}/v2/e2e/moving/manifests/current`, { method: 'DELETE' });
    assert.equal(res.status, 202);
    assert.equal(await tagDigest(b.url, 'e2e/moving', 'current'), undefined);
  });

  test('concurrent pushes of one tag through both replicas end with one tag both agree on, as stored', async () => {
    const [a, b] = replicas;
    const db = new pg.Client({ connectionString: postgres.url });
    await db.connect();
    try {
      for (let round = 0; round < 8; round++) {
        const pushed = await Promise.all([pushTinyImage(a.url, 'e2e/race', 'same', `a ${round}`), pushTinyImage(b.url, 'e2e/race', 'same', `b ${round}`)]);
        const [viaA, viaB, viaLb] = await Promise.all([a.url, b.url, haproxy.url].map((base) => tagDigest(base, 'e2e/race', 'same')));
        const stored = (await db.query('SELECT digest FROM tags WHERE repository = $1 AND tag = $2', ['e2e/race', 'same'])).rows;
        assert.equal(stored.length, 1);
        assert.ok(pushed.includes(stored[0].digest), `round ${round}: the tag names one of the two pushes`);
        assert.deepEqual([viaA, viaB, viaLb], [stored[0].digest, stored[0].digest, stored[0].digest], `round ${round}`);
      }
    } finally {
      await db.end();
    }
  });

  test('dockerd pushes and pulls through haproxy', async () => {
    dockerd = await startDockerd();
    const id = await importBusybox(dockerd, 'busybox:replicas');
    const ref = `${haproxy.host}/library/busybox:replicas`;
    await dockerd.dockerOk(['tag', 'busybox:replicas', ref]);
    const push = await dockerd.dockerOk(['push', ref]);
    const digest = /digest: (sha256:[a-f0-9]{64})/.exec(push)?.[1];
    assert.ok(digest, push);
    await dockerd.dockerOk(['rmi', ref, 'busybox:replicas']);
    assert.match(await dockerd.dockerOk(['pull', ref]), new RegExp(`Digest: ${digest}`));
    assert.equal((await dockerd.dockerOk(['image', 'inspect', '--format', '{{.Id}}', ref])).trim(), id);
    for (const replica of replicas) {
      const res = await fetch(`${replica.url}/v2/library/busybox/manifests/replicas`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      assert.equal(res.headers.get('docker-content-digest'), digest, 'both replicas serve the pushed manifest');
    }
  });

  test('wharf gc waits its turn: refused while another collection holds the database\'s GC lock', async () => {
    const pool = openPgPool(postgres.url);
    const locks = new PgAdvisoryLocks(pool);
    try {
      const release = await new PgGcLock(locks).tryLock();
      assert.ok(release, 'no replica is collecting now');
      const gc = ['gc', '--root', root, '--meta-url', postgres.url];
      const refused = await run(wharfBin, gc);
      assert.notEqual(refused.code, 0);
      assert.match(refused.stderr, /another garbage collection is running/);
      await release();
      const done = await run(wharfBin, gc);
      assert.equal(done.code, 0, done.stderr);
      assert.match(done.stdout, /freed \d+ blobs/);
    } finally {
      await locks.close();
      await pool.close();
    }
  });

  // Last: it kills replica 0.
  test('kill -9 of a replica mid-upload: the client continues the same upload through the other', async () => {
    const [a] = replicas;
    const data = randomBytes(8 * 1024 * 1024 + 3);
    const first = 3 * 1024 * 1024;
    const start = await fetch(`${a.url}/v2/e2e/resume/blobs/uploads/`, { method: 'POST' });
    assert.equal(start.status, 202);
    const id = start.headers.get('docker-upload-uuid') ?? '';
    const upload = new URL(start.headers.get('location') ?? '', a.url);
    const chunk = await fetch(upload, { method: 'PATCH', body: data.subarray(0, first), headers: { 'content-range': `0-${first - 1}`, 'content-type': 'application/octet-stream' } });
    assert.equal(chunk.status, 202);
    const ingest = join(root, 'ingest', id, 'data');
    const outcome = await patchInTwo(new URL(chunk.headers.get('location') ?? '', a.url).href, first, data.subarray(first), async () => {
      await waitFor('half of the second chunk on disk', async () => statSync(ingest).size > first, 20_000);
      await a.kill9();
    });
    assert.ok(outcome instanceof Error || outcome >= 500, `the PATCH to the killed replica did not succeed (${String(outcome)})`);

    // The same upload URL, through haproxy: the survivor answers where the bytes stop, the client sends the rest.
    const path = `${upload.pathname}${upload.search}`;
    const status = await fetch(`${haproxy.url}${path}`);
    assert.equal(status.status, 204);
    const offset = Number(/^0-(\d+)$/.exec(status.headers.get('range') ?? '')?.[1]) + 1;
    assert.ok(offset > first && offset < data.length, `resumes inside the second chunk (offset ${offset})`);
    const rest = await fetch(`${haproxy.url}${path}`, { method: 'PATCH', body: data.subarray(offset), headers: { 'content-range': `${offset}-${data.length - 1}`, 'content-type': 'application/octet-stream' } });
    assert.equal(rest.status, 202, await rest.text());
    const finish = new URL(rest.headers.get('location') ?? '', haproxy.url);
    finish.searchParams.set('digest', sha256(data));
    const put = await fetch(`${haproxy.url}${finish.pathname}${finish.search}`, { method: 'PUT' });
    assert.equal(put.status, 201, await put.text());
    const blob = await fetch(`${haproxy.url}/v2/e2e/resume/blobs/${sha256(data)}`);
    assert.equal(blob.status, 200);
    assert.equal(sha256(Buffer.from(await blob.arrayBuffer())), sha256(data));
  });
});

function readLayer(layout: string, img: RandomLayerImage): Buffer {
  return readFileSync(join(layout, 'blobs', 'sha256', img.layer.digest.slice(7)));
}
