import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { Agent } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ListMultipartUploadsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { startCephS3, type CephS3 } from '../../test/support/ceph.ts';
import { streamedRssGrowth } from '../../test/support/streamed-rss-growth.ts';
import { digestOf } from '../oci/digest.ts';
import { describeBlobStore, pattern } from './conformance.ts';
import { DriverBlobStore } from './driver-blob-store.ts';
import { createS3Client } from './s3-client.ts';
import { S3Driver } from './s3-driver.ts';
import { describeStorageDriver } from './storage-driver-conformance.ts';

const mib = 1024 * 1024;
let ceph: CephS3;
before(async () => {
  ceph = await startCephS3();
  console.log(`# ceph radosgw started in ${ceph.startMs} ms`);
}, { timeout: 180_000 });
after(() => ceph?.close());

function client(): S3Client {
  return createS3Client({ endpoint: ceph.endpoint, region: ceph.region, accessKey: ceph.accessKey, secretKey: ceph.secretKey, forcePathStyle: true });
}

/** A driver on a key prefix of its own in the one bucket: fresh and empty without a bucket per case. */
function fixture(options: { partSize?: number; redirect?: boolean } = {}) {
  const prefix = `case-${randomUUID()}`;
  const s3 = client();
  const open = (c: S3Client) => new S3Driver({ client: c, bucket: ceph.bucket, prefix, ...options });
  const driver = open(s3);
  return {
    prefix,
    s3,
    driver,
    reopen: async () => open(client()),
    cleanup: async () => {
      await driver.delete('');
      s3.destroy();
    },
  };
}

describeStorageDriver('S3Driver on Ceph radosgw', async () => ({ ...fixture(), clockResolutionMs: 1000 }));

describeBlobStore('DriverBlobStore over S3Driver on Ceph radosgw', async () => {
  const f = fixture({ partSize: 5 * mib });
  return { store: new DriverBlobStore({ driver: f.driver }), reopen: async () => new DriverBlobStore({ driver: await f.reopen() }), cleanup: f.cleanup };
});

describe('S3Driver on Ceph radosgw, in the bucket', () => {
  test('an upload killed with SIGKILL mid-part resumes in another process and leaves nothing behind', async () => {
    const f = fixture({ partSize: 5 * mib });
    try {
      const total = 24 * mib;
      const child = spawnWriter(f.prefix, 'killed', total);
      const exited = once(child, 'exit');
      const store = new DriverBlobStore({ driver: f.driver });
      try {
        await until(async () => ((await store.ingestStatus('killed'))?.offset ?? 0) >= 12 * mib, 60_000);
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
      const resumed = new DriverBlobStore({ driver: await f.reopen() });
      const writer = await resumed.ingest('killed');
      assert.ok(writer.offset >= 10 * mib && writer.offset < total, `resumed at ${writer.offset}`);
      await writer.write(patternChunks(writer.offset, total));
      const digest = patternDigest(total);
      assert.deepEqual(await writer.commit({ digest, size: total }), { digest, size: total });
      const check = createHash('sha256');
      for await (const chunk of await resumed.read(digest)) check.update(chunk as Buffer);
      assert.equal(`sha256:${check.digest('hex')}`, digest);
      assert.deepEqual(await keysUnder(f.s3, `${f.prefix}/_wharf_s3/`), [], 'no append state left');
      assert.deepEqual(await keysUnder(f.s3, `${f.prefix}/ingest/`), []);
      const uploads = await f.s3.send(new ListMultipartUploadsCommand({ Bucket: ceph.bucket, Prefix: `${f.prefix}/` }));
      assert.deepEqual(uploads.Uploads ?? [], [], 'no multipart upload left open');
    } finally {
      await f.cleanup();
    }
  });

  for (const size of [100 * 1024, 6 * mib]) {
    test(`a commit of ${size} bytes that crashed before the blob store's move, then appended to: stat, reader and commit see every byte`, async () => {
      const f = fixture({ partSize: 5 * mib });
      try {
        const first = pattern(0, size);
        // The crash window: the driver's commit ran (ingest/<ref>/data is an object), DriverBlobWriter's move did not.
        const crashed = await f.driver.writer('ingest/crashed/data', { append: true });
        await crashed.write(Readable.from([first]));
        await crashed.commit();
        const store = new DriverBlobStore({ driver: f.driver });
        const appending = await store.ingest('crashed');
        assert.equal(appending.offset, size);
        assert.deepEqual(await keysUnder(f.s3, `${f.prefix}/ingest/`), [], 'the adopted object is gone');
        await appending.write(Readable.from([pattern(size, mib)]));
        await appending.close();
        const whole = pattern(0, size + mib);
        assert.deepEqual(await store.ingestStatus('crashed'), { offset: whole.length });
        assert.equal((await f.driver.stat('ingest/crashed/data'))?.size, whole.length);
        assert.ok((await readAll(await f.driver.reader('ingest/crashed/data'))).equals(whole));
        const resumed = await store.ingest('crashed');
        assert.equal(resumed.offset, whole.length);
        // As RegistryService.finishUpload commits (no size): the digest of the old prefix must not match.
        await assert.rejects(resumed.commit({ digest: digestOf(first) }), (err: Error) => /does not match/.test(err.message));
        const again = await store.ingest('crashed');
        await again.write(Readable.from([pattern(0, size + mib)]));
        assert.deepEqual(await again.commit({ digest: digestOf(whole) }), { digest: digestOf(whole), size: whole.length });
        assert.ok((await readAll(await store.read(digestOf(whole)))).equals(whole));
      } finally {
        await f.cleanup();
      }
    });
  }

  test('a sha512 upload of more than one part commits through DriverBlobStore; a closed or reopened writer\'s file is readable', async () => {
    const f = fixture({ partSize: 5 * mib });
    try {
      const data = pattern(7, 11 * mib);
      const writer = await f.driver.writer('ingest/a/data', { append: true });
      await writer.write(Readable.from([data.subarray(0, 6 * mib)]));
      await writer.close();
      assert.ok((await readAll(await f.driver.reader('ingest/a/data'))).equals(data.subarray(0, 6 * mib)), 'after close');
      const reopened = await f.driver.writer('ingest/a/data', { append: true });
      assert.ok((await readAll(await f.driver.reader('ingest/a/data', { start: 5 * mib - 3 }))).equals(data.subarray(5 * mib - 3, 6 * mib)), 'after a reopen');
      await reopened.cancel();
      const store = new DriverBlobStore({ driver: f.driver });
      const ingest = await store.ingest('sha512');
      await ingest.write(Readable.from([data.subarray(0, 6 * mib)]));
      await ingest.write(Readable.from([data.subarray(6 * mib)]));
      const digest = digestOf(data, 'sha512');
      assert.deepEqual(await ingest.commit({ digest }), { digest, size: data.length });
      assert.ok((await readAll(await store.read(digest))).equals(data));
    } finally {
      await f.cleanup();
    }
  });

  test('a part that fails while the next one fills: the write rejects, its bytes stay the file\'s, and a resumed upload commits the whole', async () => {
    const f = fixture({ partSize: 5 * mib });
    let uploads = 0;
    // The real server, with one failure injected in the client: the second part upload (in flight while the
    // third part's bytes are buffered) rejects.
    f.s3.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand' && ++uploads === 2) throw new Error('injected part failure');
        return next(args);
      },
      { step: 'initialize', name: 'failSecondPart' },
    );
    try {
      const data = pattern(3, 17 * mib);
      const writer = await new DriverBlobStore({ driver: f.driver }).ingest('failing-part');
      await assert.rejects(writer.write(Readable.from([data.subarray(0, 13 * mib)])), /injected part failure/);
      assert.equal(writer.offset, 13 * mib);
      await writer.close();
      const resumed = await new DriverBlobStore({ driver: await f.reopen() }).ingest('failing-part');
      assert.equal(resumed.offset, 13 * mib);
      await resumed.write(Readable.from([data.subarray(13 * mib)]));
      const digest = digestOf(data);
      assert.deepEqual(await resumed.commit({ digest }), { digest, size: data.byteLength });
    } finally {
      await f.cleanup();
    }
  });

  test('an idle writer holds no part buffer; the next write and the commit read its bytes back', async () => {
    const f = fixture({ partSize: 8 * mib });
    const gc = collector();
    try {
      const store = new DriverBlobStore({ driver: f.driver });
      // 32 writers keeping their 8 MiB part would hold 256 MiB; the bound leaves room for the few request bodies
      // the SDK's keep-alive sockets still reference after a request (a CI run saw 28 MiB with 16 writers).
      const count = 32;
      gc();
      const before = process.memoryUsage().arrayBuffers;
      const writers = [];
      for (let i = 0; i < count; i++) {
        const writer = await store.ingest(`idle-${i}`);
        await writer.write(Readable.from([pattern(i, 6 * mib)]));
        writers.push(writer);
      }
      gc();
      const held = (process.memoryUsage().arrayBuffers - before) / mib;
      assert.ok(held < 40, `${count} idle writers with 6 MiB each below a part hold ${held.toFixed(1)} MiB`);
      for (const [i, writer] of writers.entries()) {
        await writer.write(Readable.from([pattern(i + 6 * mib, 3 * mib)]));
        const digest = digestOf(pattern(i, 9 * mib));
        assert.deepEqual(await writer.commit({ digest }), { digest, size: 9 * mib });
      }
    } finally {
      await f.cleanup();
    }
  });

  test('a 512 MiB blob streams in and out with flat memory', async () => {
    const f = fixture();
    try {
      const store = new DriverBlobStore({ driver: f.driver });
      const grown = await streamedRssGrowth(store, 512 * mib);
      assert.ok(grown < 128, `rss grew ${grown.toFixed(0)} MiB`);
    } finally {
      await f.cleanup();
    }
  });

  test('redirectUrl presigns a GET and a HEAD of the object, only when redirects are enabled', async () => {
    const f = fixture({ redirect: true });
    try {
      await f.driver.putContent('blobs/sha256/ab/signed', pattern(0, 1000));
      const get = await f.driver.redirectUrl('blobs/sha256/ab/signed', { method: 'GET', expiresInSeconds: 60 });
      assert.ok(get?.includes('X-Amz-Signature='), get);
      const got = await fetch(get ?? '');
      assert.equal(got.status, 200);
      assert.ok(Buffer.from(await got.arrayBuffer()).equals(pattern(0, 1000)));
      const head = await fetch((await f.driver.redirectUrl('blobs/sha256/ab/signed', { method: 'HEAD', expiresInSeconds: 60 })) ?? '', { method: 'HEAD' });
      assert.equal(head.headers.get('content-length'), '1000');
      assert.equal((await fetch(get ?? '', { method: 'HEAD' })).status, 403, 'a GET signature does not sign a HEAD');
      const plain = new S3Driver({ client: f.s3, bucket: ceph.bucket, prefix: f.prefix });
      assert.equal(await plain.redirectUrl('blobs/sha256/ab/signed', { method: 'GET', expiresInSeconds: 60 }), undefined);
    } finally {
      await f.cleanup();
    }
  });

  test('virtual-host addressing reaches the same objects as path-style', async () => {
    const f = fixture();
    const hosts: string[] = [];
    // radosgw serves `<bucket>.localhost` (rgw dns name); this client resolves every name to radosgw's address.
    const agent = new Agent({
      lookup: (_host, options, callback) => {
        const answer = callback as (err: null, address: string | Array<{ address: string; family: number }>, family?: number) => void;
        if ((options as { all?: boolean }).all) answer(null, [{ address: '127.0.0.1', family: 4 }]);
        else answer(null, '127.0.0.1', 4);
      },
    });
    const virtual = new S3Client({
      endpoint: ceph.endpoint.replace('127.0.0.1', ceph.dnsName),
      region: ceph.region,
      credentials: { accessKeyId: ceph.accessKey, secretAccessKey: ceph.secretKey },
      forcePathStyle: false,
      requestHandler: { httpAgent: agent },
    });
    virtual.middlewareStack.add((next) => async (args) => {
      hosts.push(String((args.request as { hostname?: string }).hostname));
      return next(args);
    }, { step: 'finalizeRequest' });
    try {
      const driver = new S3Driver({ client: virtual, bucket: ceph.bucket, prefix: f.prefix });
      await driver.putContent('meta/virtual', pattern(1, 100));
      assert.ok((await f.driver.getContent('meta/virtual', 100)).equals(pattern(1, 100)));
      await f.driver.putContent('meta/path', pattern(2, 100));
      assert.ok((await driver.getContent('meta/path', 100)).equals(pattern(2, 100)));
      assert.ok(hosts.length > 0 && hosts.every((h) => h === `${ceph.bucket}.${ceph.dnsName}`), hosts.join(','));
    } finally {
      virtual.destroy();
      agent.destroy();
      await f.cleanup();
    }
  });

  test('recoverRemovals puts back a file whose removal crashed after its delete, and drops a stale copy', async () => {
    const f = fixture();
    try {
      await f.driver.putContent('blobs/sha256/ab/lost', pattern(3, 100));
      await f.driver.putContent('blobs/sha256/ab/kept', pattern(4, 100));
      for (const name of ['lost', 'kept']) {
        await f.s3.send(new PutObjectCommand({ Bucket: ceph.bucket, Key: `${f.prefix}/_wharf_s3/removing/blobs/sha256/ab/${name}`, Body: pattern(3, 100) }));
      }
      await f.driver.delete('blobs/sha256/ab/lost');
      await f.s3.send(new PutObjectCommand({ Bucket: ceph.bucket, Key: `${f.prefix}/_wharf_s3/removing/blobs/sha256/ab/lost`, Body: pattern(3, 100) }));
      assert.equal(await f.driver.recoverRemovals('blobs'), 1);
      assert.ok((await f.driver.getContent('blobs/sha256/ab/lost', 100)).equals(pattern(3, 100)));
      assert.ok((await f.driver.getContent('blobs/sha256/ab/kept', 100)).equals(pattern(4, 100)), 'a file still there keeps its own bytes');
      assert.deepEqual(await keysUnder(f.s3, `${f.prefix}/_wharf_s3/`), []);
    } finally {
      await f.cleanup();
    }
  });
});

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** The engine's collector (node --expose-gc without the flag on the command line), so buffers held are what is reachable. */
function collector(): () => void {
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}

async function keysUnder(s3: S3Client, prefix: string): Promise<string[]> {
  const out = await s3.send(new ListObjectsV2Command({ Bucket: ceph.bucket, Prefix: prefix }));
  return (out.Contents ?? []).map((o) => o.Key ?? '');
}

/** A separate node process writing the pattern slowly into ingest `ref` through S3, then stalling until killed. */
function spawnWriter(prefix: string, ref: string, total: number) {
  const script = `
    import { DriverBlobStore } from ${JSON.stringify(new URL('./driver-blob-store.ts', import.meta.url).href)};
    import { S3Driver } from ${JSON.stringify(new URL('./s3-driver.ts', import.meta.url).href)};
    import { createS3Client } from ${JSON.stringify(new URL('./s3-client.ts', import.meta.url).href)};
    import { pattern } from ${JSON.stringify(new URL('./conformance.ts', import.meta.url).href)};
    const [endpoint, accessKey, secretKey, bucket, prefix, ref, total] = process.argv.slice(1);
    setInterval(() => {}, 1000);
    const client = createS3Client({ endpoint, region: 'us-east-1', accessKey, secretKey, forcePathStyle: true });
    const store = new DriverBlobStore({ driver: new S3Driver({ client, bucket, prefix, partSize: 5 * 1024 * 1024 }) });
    const writer = await store.ingest(ref);
    // One write per MiB, as PATCH requests: each ends with the tail saved.
    for (let at = 0; at < Number(total); at += 1024 * 1024) await writer.write((async function* () { yield pattern(at, 1024 * 1024); })());
    await new Promise(() => {});
  `;
  return spawn(process.execPath, ['--input-type=module', '-e', script, ceph.endpoint, ceph.accessKey, ceph.secretKey, ceph.bucket, prefix, ref, String(total)], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

async function* patternChunks(from: number, to: number): AsyncGenerator<Uint8Array> {
  for (let at = from; at < to; at += mib) yield pattern(at, Math.min(mib, to - at));
}

function patternDigest(total: number): string {
  const hash = createHash('sha256');
  for (let at = 0; at < total; at += mib) hash.update(pattern(at, Math.min(mib, total - at)));
  return `sha256:${hash.digest('hex')}`;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
