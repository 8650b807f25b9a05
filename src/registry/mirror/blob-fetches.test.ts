// A unit test of the fetch: the source is a local node:http server that serves bytes in slow chunks and can
// hold, die or lie on demand. The real upstream registry (distribution 2.8) is exercised through PullThrough
// (pull-through.test.ts, M4) and end to end with dockerd and skopeo (test/e2e/registry-mirror.test.ts, M6).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, get, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { Fault, isFault } from '../../base/fault.ts';
import { createLogger } from '../../base/log.ts';
import { digestOf, parseDigest } from '../../oci/digest.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { chunked, pattern } from '../../store/conformance.ts';
import { DriverBlobStore } from '../../store/driver-blob-store.ts';
import { FsDriver } from '../../store/fs-driver.ts';
import { MemoryDriver } from '../../store/memory-driver.ts';
import { BlobFetches, type FetchSource, type FollowedBlob } from './blob-fetches.ts';

const logger = createLogger({ level: 'silent' });
const mib = 1024 * 1024;

/** What the server does to the next responses; tests change it between fetches. */
interface Behaviour {
  chunk: number;
  delayMs: number;
  /** Destroys the connection once this many bytes were sent. */
  dieAt?: number;
  /** Sends this byte wrong. */
  corruptAt?: number;
  /** Waits at this offset until `release` settles. */
  holdAt?: number;
  release?: Promise<void>;
}

interface SlowUpstream {
  source(name?: string): FetchSource;
  opens: number;
  behaviour: Behaviour;
  close(): Promise<void>;
}

/** Serves `blob` (or a 1 MiB pattern repeated to `size` bytes, never held in memory whole) with its length. */
async function startUpstream(body: { blob: Buffer } | { size: number }, behaviour: Behaviour): Promise<SlowUpstream> {
  const size = 'blob' in body ? body.blob.byteLength : body.size;
  const block = 'blob' in body ? body.blob : pattern(0, mib);
  const upstream = { opens: 0, behaviour } as SlowUpstream;
  const server: Server = createServer((_req, res) => {
    upstream.opens++;
    res.writeHead(200, { 'Content-Length': size, 'Content-Type': 'application/octet-stream' });
    void serveSlowly(res, size, block, { ...upstream.behaviour });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  upstream.source = (name) => ({ name, open: (signal) => openBlob(`http://127.0.0.1:${port}/blob`, signal) });
  upstream.close = () => {
    const closed = new Promise<void>((done) => server.close(() => done()));
    server.closeAllConnections();
    return closed;
  };
  return upstream;
}

async function serveSlowly(res: import('node:http').ServerResponse, size: number, block: Buffer, how: Behaviour): Promise<void> {
  for (let at = 0; at < size && !res.destroyed; ) {
    if (how.holdAt !== undefined && at >= how.holdAt && how.release) {
      await how.release;
      how.release = undefined;
    }
    if (how.dieAt !== undefined && at >= how.dieAt) return void res.destroy();
    const length = Math.min(how.chunk, size - at, how.holdAt !== undefined && at < how.holdAt ? how.holdAt - at : Infinity);
    const piece = Buffer.from(repeated(block, at, length));
    if (how.corruptAt !== undefined && how.corruptAt >= at && how.corruptAt < at + length) piece[how.corruptAt - at] ^= 0xff;
    at += length;
    if (!res.write(piece)) await once(res, 'drain').catch(() => {});
    if (how.delayMs > 0) await sleep(how.delayMs);
  }
  res.end();
}

/** Bytes [at, at + length) of `block` repeated. */
function repeated(block: Buffer, at: number, length: number): Buffer {
  const start = at % block.byteLength;
  if (start + length <= block.byteLength) return block.subarray(start, start + length);
  return Buffer.concat([block.subarray(start), repeated(block, at + block.byteLength - start, length - (block.byteLength - start))]);
}

function openBlob(url: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { signal }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`upstream answered ${res.statusCode}`));
      } else resolve({ size: Number(res.headers['content-length']), stream: res });
    });
    req.on('error', reject);
  });
}

function digestOfRepeated(block: Buffer, size: number): string {
  const hash = createHash('sha256');
  for (let at = 0; at < size; at += mib) hash.update(repeated(block, at, Math.min(mib, size - at)));
  return `sha256:${hash.digest('hex')}`;
}

const followerStreams = new WeakMap<FollowedBlob, Readable>();

/**
 * A follower's bytes as a stream to read in a test (the registry has the follower write them into the raw
 * response). Each chunk is copied as the sink takes it, as a socket would, since its slab is then reused. The
 * same stream for the same follower; destroying it aborts the copy (the client went away).
 */
function streamOf(followed: FollowedBlob): Readable {
  const known = followerStreams.get(followed);
  if (known) return known;
  const stop = new AbortController();
  const body = new PassThrough();
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      if (body.write(Buffer.from(chunk))) callback();
      else body.once('drain', () => callback());
    },
  });
  body.once('close', () => {
    stop.abort(new Error('the reader went away'));
    sink.destroy();
  });
  followed.copyTo(sink, stop.signal).then(
    () => body.end(),
    (err: unknown) => body.destroy(err as Error),
  );
  followerStreams.set(followed, body);
  return body;
}

async function readAll(stream: Readable): Promise<Buffer> {
  return Buffer.concat(await stream.toArray());
}

async function hashAll(stream: Readable): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of stream) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).byteLength;
  }
  return { digest: `sha256:${hash.digest('hex')}`, size };
}

/** Reads the stream through, counting what arrived before it failed. */
async function readUntilFailure(stream: Readable): Promise<{ received: number; error: unknown }> {
  let received = 0;
  try {
    for await (const chunk of stream) received += (chunk as Buffer).byteLength;
  } catch (error) {
    return { received, error };
  }
  return { received, error: undefined };
}

function refOf(digest: string): string {
  return `mirror-${parseDigest(digest).hex}`;
}

async function withFsStore(work: (store: BlobStore) => Promise<void>): Promise<void> {
  const root = await mkdtemp(join(tmpdir(), 'wharf-blob-fetches-'));
  try {
    await work(new DriverBlobStore({ driver: new FsDriver({ root }) }));
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function withUpstream(body: { blob: Buffer } | { size: number }, behaviour: Behaviour, work: (upstream: SlowUpstream) => Promise<void>): Promise<void> {
  const upstream = await startUpstream(body, behaviour);
  try {
    await work(upstream);
  } finally {
    await upstream.close();
  }
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** Nothing of the blob is left: no ingest, no blob. */
async function assertNothingStored(store: BlobStore, digest: string): Promise<void> {
  assert.equal(await store.stat(digest), undefined, 'the blob is absent');
  assert.equal(await store.ingestStatus(refOf(digest)), undefined, 'the ingest is gone');
}

function isUpstreamFault(err: unknown, message: RegExp): boolean {
  return isFault(err, 'unavailable') && err.code === 'UPSTREAM_UNAVAILABLE' && message.test(err.message);
}

describe('BlobFetches over a DriverBlobStore on the filesystem', () => {
  test('20 concurrent followers make one source open and all read the same correct bytes', async () => {
    const blob = pattern(7, 6 * mib + 123);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 128 * 1024, delayMs: 3 }, async (upstream) => {
        let counted = 0;
        const fetches = new BlobFetches({ blobs: store, logger, onUpstreamBytes: (n) => (counted += n) });
        const followed = await Promise.all(Array.from({ length: 20 }, () => fetches.follow(digest, upstream.source())));
        const received = await Promise.all(followed.map((f) => hashAll(streamOf(f))));
        assert.equal(upstream.opens, 1);
        for (const [i, got] of received.entries()) {
          assert.equal(followed[i].size, blob.byteLength);
          assert.deepEqual(got, { digest, size: blob.byteLength }, `follower ${i}`);
        }
        assert.deepEqual(await followed[0].stored, { digest, size: blob.byteLength });
        assert.equal(counted, blob.byteLength);
        assert.deepEqual(await store.stat(digest), { digest, size: blob.byteLength });
        assert.equal(await store.ingestStatus(refOf(digest)), undefined);
        await fetches.close();
      });
    });
  });

  test('a source of another origin joins only once it confirmed the blob: refused, it reads nothing', async () => {
    const blob = pattern(21, 2 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      const release = Promise.withResolvers<void>();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1, holdAt: mib, release: release.promise }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const first = await fetches.follow(digest, { ...upstream.source('a/'), origin: 'a/\0x' });
        const firstBody = readAll(streamOf(first));
        let opened = 0;
        const asked: string[] = [];
        const other = (has: boolean): FetchSource => ({
          name: 'b/',
          origin: 'b/\0y',
          open: async () => {
            opened++;
            throw new Error('a joiner opens nothing');
          },
          confirm: async () => {
            asked.push(has ? 'has' : 'lacks');
            if (!has) throw new Fault('not-found', 'blob unknown', { code: 'BLOB_UNKNOWN' });
          },
        });
        await assert.rejects(fetches.follow(digest, other(false)), (err) => isFault(err, 'not-found'));
        const confirmed = await fetches.follow(digest, other(true));
        const same = await fetches.follow(digest, { ...upstream.source('a/'), origin: 'a/\0x', confirm: async () => assert.fail('the same origin is not asked') });
        release.resolve();
        assert.ok((await readAll(streamOf(confirmed))).equals(blob));
        assert.ok((await readAll(streamOf(same))).equals(blob));
        assert.ok((await firstBody).equals(blob));
        assert.deepEqual(asked, ['lacks', 'has']);
        assert.equal(opened, 0);
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('a joiner of another origin whose fetch fails before its size starts its own fetch', async () => {
    const blob = pattern(22, mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const failing = Promise.withResolvers<{ size: number; stream: Readable }>();
        const first = fetches.follow(digest, { name: 'a/', origin: 'a/\0x', open: () => failing.promise });
        await sleep(20);
        const joiner = fetches.follow(digest, { ...upstream.source('b/'), origin: 'b/\0y', confirm: async () => {} });
        await sleep(20);
        failing.reject(new Fault('unavailable', 'upstream a/ unavailable: it answered 500', { code: 'UPSTREAM_UNAVAILABLE' }));
        await assert.rejects(first, (err) => isFault(err, 'unavailable'));
        assert.ok((await readAll(streamOf(await joiner))).equals(blob));
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('an empty span waits for the commit: a source lying with 0 bytes fails its follower', async () => {
    await withFsStore(async (store) => {
      const fetches = new BlobFetches({ blobs: store, logger });
      const lie = await fetches.follow(digestOf('not empty'), { name: 'liar', open: async () => ({ size: 0, stream: Readable.from([]) }) });
      const { error } = await readUntilFailure(streamOf(lie));
      assert.ok(isUpstreamFault(error, /does not match/), String(error));
      await assert.rejects(lie.stored);
      const empty = await fetches.follow(digestOf(''), { open: async () => ({ size: 0, stream: Readable.from([]) }) });
      assert.deepEqual(await readAll(streamOf(empty)), Buffer.alloc(0));
      assert.deepEqual(await empty.stored, { digest: digestOf(''), size: 0 });
      await fetches.close();
    });
  });

  test('a follower that joins after half the bytes reads the whole blob; the fetch is not repeated', async () => {
    const blob = pattern(8, 3 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      const release = Promise.withResolvers<void>();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1, holdAt: blob.byteLength / 2, release: release.promise }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const first = await fetches.follow(digest, upstream.source());
        const firstBody = readAll(streamOf(first));
        await until(async () => ((await store.ingestStatus(refOf(digest)))?.offset ?? 0) >= blob.byteLength / 2);
        const late = await fetches.follow(digest, upstream.source());
        const lateBody = readAll(streamOf(late));
        release.resolve();
        assert.ok((await lateBody).equals(blob));
        assert.ok((await firstBody).equals(blob));
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('a follower that keeps up takes the bytes from memory; one further behind reads them from the ingest', async () => {
    const blob = pattern(21, 6 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      const ingestRead = { spans: 0, bytes: 0 };
      const counted = new Proxy(store, {
        get(target, key) {
          if (key === 'readIngest') {
            return (ref: string, span: { offset: number; length: number }) => {
              ingestRead.spans++;
              ingestRead.bytes += span.length;
              return target.readIngest!(ref, span);
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const release = Promise.withResolvers<void>();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1, holdAt: 5 * mib, release: release.promise }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: counted, logger });
        const keeping = await fetches.follow(digest, upstream.source());
        const keptUp = readAll(streamOf(keeping));
        await until(async () => ((await store.ingestStatus(refOf(digest)))?.offset ?? 0) >= 5 * mib);
        assert.equal(ingestRead.spans, 0, 'a follower that keeps up reads nothing back from the ingest');
        // Joining at byte 0 with 5 MiB received: the first 3 MiB are no longer among the recent 2 MiB in memory.
        const late = await fetches.follow(digest, upstream.source());
        const lateBody = readAll(streamOf(late));
        release.resolve();
        assert.ok((await lateBody).equals(blob));
        assert.ok((await keptUp).equals(blob));
        assert.ok(ingestRead.bytes >= 3 * mib, `the late follower read ${ingestRead.bytes} bytes from the ingest`);
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('a follower waiting on its first ingest read when the upstream dies gets the upstream\'s fault, not an abort', async () => {
    const blob = pattern(24, 6 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      // An ingest read that yields nothing: the late follower is inside it when the fetch fails.
      const reading = Promise.withResolvers<void>();
      const stuck = new Proxy(store, {
        get(target, key) {
          if (key === 'readIngest') {
            return async () => {
              reading.resolve();
              return new PassThrough();
            };
          }
          const value: unknown = Reflect.get(target, key);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const release = Promise.withResolvers<void>();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1, holdAt: 5 * mib, dieAt: 5 * mib, release: release.promise }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: stuck, logger });
        const first = await fetches.follow(digest, upstream.source());
        const firstBody = readAll(streamOf(first)).catch((err: unknown) => err);
        await until(async () => ((await store.ingestStatus(refOf(digest)))?.offset ?? 0) >= 5 * mib);
        // Joining at byte 0 with 5 MiB received: its bytes are no longer in memory, it reads the ingest.
        const late = await fetches.follow(digest, upstream.source());
        const lateCopy = late.copyTo(new Writable({ write: (_chunk, _encoding, done) => done() })).catch((err: unknown) => err);
        await reading.promise;
        release.resolve();
        const err = await lateCopy;
        assert.ok(isFault(err, 'unavailable'), `the late follower failed with ${String(err)}`);
        assert.ok(await firstBody instanceof Error);
        await fetches.close();
      });
    });
  });

  test('a follower whose client stops reading holds the fetch back for a moment only: the blob is stored', async () => {
    const blob = pattern(22, 8 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const stalled = await fetches.follow(digest, upstream.source());
        // A client that stops reading: its sink takes one write and never calls back. The fetch waits for its only
        // follower for a moment, then goes on without it.
        const stop = new AbortController();
        const started = Date.now();
        const stuck = stalled.copyTo(new Writable({ highWaterMark: 1, write: () => {} }), stop.signal).catch((err: unknown) => err);
        assert.deepEqual(await stalled.stored, { digest, size: blob.byteLength });
        assert.ok(Date.now() - started >= 900, 'the fetch waited for its follower first');
        assert.ok((await readAll(streamOf(await fetches.follow(digest, upstream.source())))).equals(blob));
        stop.abort(new Error('the client went away'));
        assert.match(String(await stuck), /the client went away/);
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('the fetch keeps pace with its leading follower: a slow client still reads from memory, not the ingest', async () => {
    const blob = pattern(23, 6 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const followed = await fetches.follow(digest, upstream.source());
        let read = 0;
        let ahead = 0;
        const hash = createHash('sha256');
        for await (const chunk of streamOf(followed)) {
          hash.update(chunk as Buffer);
          read += (chunk as Buffer).byteLength;
          ahead = Math.max(ahead, ((await store.ingestStatus(refOf(digest)))?.offset ?? blob.byteLength) - read);
          await sleep(2);
        }
        assert.equal(`sha256:${hash.digest('hex')}`, digest);
        assert.ok(ahead <= 2 * mib, `the fetch got ${ahead} bytes ahead of its only client`);
        await fetches.close();
      });
    });
  });

  test('a range follower reads its bytes; an unsatisfiable range is out-of-range', async () => {
    const blob = pattern(9, 2 * mib + 7);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 32 * 1024, delayMs: 1 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const [whole, head, tail] = await Promise.all([
          fetches.follow(digest, upstream.source()),
          fetches.follow(digest, upstream.source(), { start: 1000, end: 500_000 }),
          fetches.follow(digest, upstream.source(), { start: 2 * mib, end: 10 * mib }),
        ]);
        await assert.rejects(fetches.follow(digest, upstream.source(), { start: blob.byteLength, end: blob.byteLength + 5 }), (err) => isFault(err, 'out-of-range'));
        assert.equal(head.size, blob.byteLength);
        assert.ok((await readAll(streamOf(head))).equals(blob.subarray(1000, 500_001)));
        assert.ok((await readAll(streamOf(tail))).equals(blob.subarray(2 * mib)));
        assert.ok((await readAll(streamOf(whole))).equals(blob));
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('the source dying mid-way fails every follower and stores nothing; the next follow fetches again', async () => {
    const blob = pattern(10, 2 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 2, dieAt: mib }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const followed = await Promise.all(Array.from({ length: 5 }, () => fetches.follow(digest, upstream.source('up'))));
        const outcomes = await Promise.all(followed.map((f) => readUntilFailure(streamOf(f))));
        for (const { received, error } of outcomes) {
          assert.ok(isUpstreamFault(error, /^upstream up unavailable: blob .* transfer failed/), String(error));
          assert.ok(received <= mib, `${received} bytes received`);
        }
        await assert.rejects(followed[0].stored, (err) => isUpstreamFault(err, /unavailable/));
        await assertNothingStored(store, digest);
        upstream.behaviour = { chunk: 256 * 1024, delayMs: 0 };
        const again = await fetches.follow(digest, upstream.source('up'));
        assert.ok((await readAll(streamOf(again))).equals(blob));
        assert.equal(upstream.opens, 2);
        assert.deepEqual(await store.stat(digest), { digest, size: blob.byteLength });
        await fetches.close();
      });
    });
  });

  test('a failed fetch is gone before its followers learn of it: a follow at once starts a new fetch', async () => {
    const blob = pattern(20, 2 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 2, dieAt: mib }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const failing = await fetches.follow(digest, upstream.source('up'));
        upstream.behaviour = { chunk: 256 * 1024, delayMs: 0 };
        // The retry is issued in the same turn the follower's error arrives, as a client retrying at once.
        const retried = new Promise<ReturnType<BlobFetches['follow']>>((resolve) => {
          streamOf(failing).once('error', () => resolve(fetches.follow(digest, upstream.source('up'))));
        });
        streamOf(failing).resume();
        const again = await (await retried);
        assert.ok((await readAll(streamOf(again))).equals(blob));
        assert.deepEqual(await again.stored, { digest, size: blob.byteLength });
        assert.equal(upstream.opens, 2);
        await fetches.close();
      });
    });
  });

  test('wrong bytes fail the commit: no follower gets the whole blob, nothing is stored', async () => {
    const blob = pattern(11, mib + 99);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1, corruptAt: 777 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const followed = await Promise.all([fetches.follow(digest, upstream.source('up')), fetches.follow(digest, upstream.source('up'), { start: 0, end: 999 })]);
        for (const { received, error } of await Promise.all(followed.map((f) => readUntilFailure(streamOf(f))))) {
          assert.ok(isUpstreamFault(error, new RegExp(`^upstream up sent content that does not match ${digest}$`)), String(error));
          assert.ok(received < blob.byteLength, 'the last byte waits for the digest check');
        }
        await assert.rejects(followed[0].stored, (err) => isUpstreamFault(err, /does not match/));
        await assertNothingStored(store, digest);
        await fetches.close();
      });
    });
  });

  test('a follower going away does not stop the fetch: the blob is still stored', async () => {
    const blob = pattern(12, 2 * mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 2 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const gone = await fetches.follow(digest, upstream.source());
        for await (const _ of streamOf(gone)) break;
        assert.ok(streamOf(gone).destroyed);
        assert.deepEqual(await gone.stored, { digest, size: blob.byteLength });
        assert.ok((await readAll(await store.read(digest))).equals(blob));
        await fetches.close();
      });
    });
  });

  test('an ingest left by an earlier process is dropped and the blob fetched from byte 0', async () => {
    const blob = pattern(13, mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      const leftover = await store.ingest(refOf(digest));
      await leftover.write(chunked(pattern(99, 300_000), 10_000));
      await leftover.close();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const followed = await fetches.follow(digest, upstream.source());
        assert.ok((await readAll(streamOf(followed))).equals(blob));
        assert.deepEqual(await followed.stored, { digest, size: blob.byteLength });
        await fetches.close();
      });
    });
  });

  test('an ingest held by another writer (another replica) is waited for, and its blob served', async () => {
    const blob = pattern(14, mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger, timings: { conflictIntervalMs: 20 } });
        const other = await store.ingest(refOf(digest));
        let answered = false;
        const following = fetches.follow(digest, upstream.source()).finally(() => (answered = true));
        await other.write(chunked(blob.subarray(0, 500_000), 50_000));
        await sleep(150);
        assert.equal(answered, false, 'the size is known once the other writer stored the blob');
        await other.write(chunked(blob.subarray(500_000), 50_000));
        await other.commit({ digest, size: blob.byteLength });
        const followed = await following;
        assert.ok((await readAll(streamOf(followed))).equals(blob));
        assert.deepEqual(await followed.stored, { digest, size: blob.byteLength });
        assert.equal(upstream.opens, 0, 'this process never fetched it');
        await fetches.close();
      });
    });
  });

  test('an ingest held by another writer is not waited for when this source does not have the blob', async () => {
    const digest = digestOf('held elsewhere');
    await withFsStore(async (store) => {
      const fetches = new BlobFetches({ blobs: store, logger, timings: { conflictIntervalMs: 20 } });
      const other = await store.ingest(refOf(digest));
      const source: FetchSource = {
        open: async () => assert.fail('the ingest is held: nothing is opened'),
        confirm: async () => {
          throw new Fault('not-found', 'blob unknown', { code: 'BLOB_UNKNOWN' });
        },
      };
      await assert.rejects(fetches.follow(digest, source), (err) => isFault(err, 'not-found'));
      await other.cancel();
      await fetches.close();
    });
  });

  test('an ingest held by another writer that gives up is taken over; a wait that lasts too long fails', async () => {
    const blob = pattern(15, mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger, timings: { conflictIntervalMs: 20, conflictTimeoutMs: 400 } });
        const other = await store.ingest(refOf(digest));
        await other.write(chunked(pattern(98, 100_000), 10_000));
        await assert.rejects(fetches.follow(digest, upstream.source()), (err) => isFault(err, 'unavailable') && /another process/.test((err as Error).message));
        const following = fetches.follow(digest, upstream.source());
        await sleep(100);
        await other.close();
        const followed = await following;
        assert.ok((await readAll(streamOf(followed))).equals(blob));
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });

  test('close aborts a running fetch: its followers fail and its ingest is dropped', async () => {
    const blob = pattern(17, mib);
    const digest = digestOf(blob);
    await withFsStore(async (store) => {
      const never = Promise.withResolvers<void>();
      await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 0, holdAt: 300_000, release: never.promise }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const followed = await fetches.follow(digest, upstream.source());
        const reading = readUntilFailure(streamOf(followed));
        await until(async () => ((await store.ingestStatus(refOf(digest)))?.offset ?? 0) >= 300_000);
        await fetches.close();
        assert.ok(isFault((await reading).error, 'unavailable'));
        await assertNothingStored(store, digest);
        await assert.rejects(fetches.follow(digest, upstream.source()), (err) => isFault(err, 'unavailable'));
      });
      never.resolve();
    });
  });

  test('memory stays flat: 4 followers of a 160 MiB blob', async (t) => {
    const size = 160 * mib;
    const block = pattern(0, mib);
    const digest = digestOfRepeated(block, size);
    await withFsStore(async (store) => {
      await withUpstream({ size }, { chunk: 64 * 1024, delayMs: 0 }, async (upstream) => {
        const fetches = new BlobFetches({ blobs: store, logger });
        const before = process.memoryUsage().rss;
        let peak = before;
        const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
        try {
          const followed = await Promise.all(Array.from({ length: 4 }, () => fetches.follow(digest, upstream.source())));
          const received = await Promise.all(followed.map((f) => hashAll(streamOf(f))));
          assert.deepEqual(received, Array(4).fill({ digest, size }));
        } finally {
          clearInterval(sampler);
        }
        const growth = (peak - before) / mib;
        t.diagnostic(`resident memory rose ${growth.toFixed(0)} MiB`);
        assert.ok(growth < 120, `resident memory rose ${growth.toFixed(0)} MiB for 160 MiB in and 640 MiB out`);
        assert.equal(upstream.opens, 1);
        await fetches.close();
      });
    });
  });
});

describe('BlobFetches over other stores', () => {
  test('a DriverBlobStore on the memory driver: followers read the ingest as it grows', async () => {
    const blob = pattern(18, 2 * mib);
    const digest = digestOf(blob);
    const store = new DriverBlobStore({ driver: new MemoryDriver() });
    assert.ok(store.readIngest);
    await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 2 }, async (upstream) => {
      const fetches = new BlobFetches({ blobs: store, logger });
      const followed = await Promise.all(Array.from({ length: 5 }, () => fetches.follow(digest, upstream.source())));
      const first = streamOf(followed[0]);
      const before = await new Promise<Buffer>((resolve) => first.once('data', resolve));
      assert.equal(await store.stat(digest), undefined, 'bytes reach a follower before the commit');
      const rest = await readAll(first);
      assert.ok(Buffer.concat([before, rest]).equals(blob));
      for (const f of followed.slice(1)) assert.ok((await readAll(streamOf(f))).equals(blob));
      assert.equal(upstream.opens, 1);
      await fetches.close();
    });
  });

  test('a store that cannot read an open ingest (as on s3): followers wait for the commit, still one fetch', async () => {
    const blob = pattern(19, mib);
    const digest = digestOf(blob);
    const driver = new MemoryDriver();
    Object.defineProperty(driver, 'readsOpenWrites', { value: false });
    const store = new DriverBlobStore({ driver });
    assert.equal(store.readIngest, undefined);
    await withUpstream({ blob }, { chunk: 64 * 1024, delayMs: 1 }, async (upstream) => {
      const fetches = new BlobFetches({ blobs: store, logger });
      const followed = await Promise.all(Array.from({ length: 3 }, () => fetches.follow(digest, upstream.source())));
      const first = streamOf(followed[0]);
      await once(first, 'readable');
      assert.ok(await store.stat(digest), 'the first byte comes after the commit');
      for (const f of followed) assert.ok((await readAll(streamOf(f))).equals(blob));
      assert.equal(upstream.opens, 1);
      await fetches.close();
    });
  });
});
