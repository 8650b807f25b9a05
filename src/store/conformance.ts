import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { isFault, type FaultKind } from '../base/fault.ts';
import { digestOf } from '../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter } from './blob-store.ts';

export interface BlobStoreFixture {
  store: BlobStore;
  cleanup(): Promise<void>;
  /** A new instance on the same backing storage (a restart), for drivers that persist. */
  reopen?(): Promise<BlobStore>;
}

/**
 * The one suite every BlobStore driver and wrapper passes (distribution's driver testsuites, containerd's
 * content tests). Each case gets a fresh store and checks that no ingest or stray blob was left behind.
 */
export function describeBlobStore(name: string, make: () => Promise<BlobStoreFixture>): void {
  const withStore = (fn: (store: BlobStore, fixture: BlobStoreFixture) => Promise<void>) => async () => {
    const fixture = await make();
    try {
      await fn(fixture.store, fixture);
    } finally {
      await fixture.cleanup();
    }
  };

  describe(`BlobStore conformance: ${name}`, () => {
    describeLifecycle(withStore);
    describeReads(withStore);
    describeCopyTo(withStore);
    describeVerification(withStore);
    describeResume(withStore);
    describeIngestReads(withStore);
    describeConcurrency(withStore);
    describeRemoval(withStore);
    describeCollectionSupport(withStore);
    describeValidation(withStore);
  });
}

type WithStore = (fn: (store: BlobStore, fixture: BlobStoreFixture) => Promise<void>) => () => Promise<void>;

function describeLifecycle(withStore: WithStore): void {
  test('an ingest written, committed and read back returns the same bytes', withStore(async (store) => {
    const data = pattern(0, 100_000);
    const digest = digestOf(data);
    const writer = await store.ingest('upload-1');
    assert.equal(writer.ref, 'upload-1');
    assert.equal(writer.offset, 0);
    assert.equal(await writer.write(chunked(data, 7_000)), data.byteLength);
    assert.equal(writer.offset, data.byteLength);
    assert.equal(await writer.digest(), digest);
    assert.deepEqual(await store.stat(digest), undefined, 'not visible before commit');
    assert.deepEqual(await writer.commit({ digest, size: data.byteLength }), { digest, size: data.byteLength });
    assert.deepEqual(await store.stat(digest), { digest, size: data.byteLength });
    assert.deepEqual(await readAll(store, digest), data);
    assert.equal(await store.ingestStatus('upload-1'), undefined, 'the ingest is gone after commit');
    assert.deepEqual(await listAll(store), [{ digest, size: data.byteLength }]);
  }));

  test('several writes append, from async iterables and Readable streams alike', withStore(async (store) => {
    const a = pattern(0, 3000);
    const b = pattern(3000, 5000);
    const writer = await store.ingest('append');
    await writer.write(chunked(a, 1000));
    const readable = Readable.from([b]);
    assert.equal(await writer.write(readable), 8000);
    const whole = Buffer.concat([a, b]);
    assert.deepEqual(await writer.commit({ digest: digestOf(whole) }), { digest: digestOf(whole), size: 8000 });
    assert.deepEqual(await readAll(store, digestOf(whole)), whole);
  }));

  test('an empty blob can be committed and read', withStore(async (store) => {
    const digest = digestOf(new Uint8Array(0));
    const writer = await store.ingest('empty');
    assert.equal(await writer.write(chunked(Buffer.alloc(0), 1)), 0);
    assert.deepEqual(await writer.commit({ digest, size: 0 }), { digest, size: 0 });
    assert.deepEqual(await store.stat(digest), { digest, size: 0 });
    assert.equal((await readAll(store, digest)).byteLength, 0);
  }));

  test('a sha512 expected digest is verified and addressable', withStore(async (store) => {
    const data = pattern(11, 4096);
    const digest = digestOf(data, 'sha512');
    const writer = await store.ingest('sha512');
    await writer.write(chunked(data, 1000));
    assert.equal(await writer.digest('sha512'), digest);
    assert.deepEqual(await writer.commit({ digest, size: 4096 }), { digest, size: 4096 });
    assert.deepEqual(await readAll(store, digest), data);
    assert.equal(await store.stat(digestOf(data)), undefined, 'only the committed algorithm names it');
  }));

  test('a sha512 digest of an ingest larger than an s3 part (5 MiB) is verified', withStore(async (store) => {
    const data = pattern(12, 6 * 1024 * 1024 + 5);
    const digest = digestOf(data, 'sha512');
    const writer = await store.ingest('sha512-big');
    await writer.write(chunked(data, 1024 * 1024));
    assert.deepEqual(await writer.commit({ digest, size: data.byteLength }), { digest, size: data.byteLength });
    assert.equal(digestOf(await readAll(store, digest), 'sha512'), digest);
  }));

  test('a multi-megabyte blob streams back intact', withStore(async (store) => {
    const data = pattern(5, 3 * 1024 * 1024 + 17);
    const digest = await put(store, 'big', data);
    assert.equal(digestOf(await readAll(store, digest)), digest);
  }));

  test('a writer is unusable after commit', withStore(async (store) => {
    const data = pattern(0, 10);
    const writer = await store.ingest('done');
    await writer.write(chunked(data, 10));
    await writer.commit({ digest: digestOf(data) });
    await expectFault(writer.write(chunked(data, 10)), 'failed-precondition');
    await writer.close();
    await writer.cancel();
    assert.deepEqual(await store.stat(digestOf(data)), { digest: digestOf(data), size: 10 }, 'cancel after commit keeps the blob');
  }));
}

function describeReads(withStore: WithStore): void {
  test('range reads return the inclusive span and clamp an end past the blob', withStore(async (store) => {
    const data = pattern(0, 1000);
    const digest = await put(store, 'ranges', data);
    assert.deepEqual(await readAll(store, digest, { start: 0, end: 0 }), data.subarray(0, 1));
    assert.deepEqual(await readAll(store, digest, { start: 10, end: 19 }), data.subarray(10, 20));
    assert.deepEqual(await readAll(store, digest, { start: 999, end: 999 }), data.subarray(999));
    assert.deepEqual(await readAll(store, digest, { start: 900, end: 5000 }), data.subarray(900));
    assert.deepEqual(await readAll(store, digest, { start: 0, end: 999 }), data);
  }));

  test('unsatisfiable ranges are out-of-range', withStore(async (store) => {
    const digest = await put(store, 'bad-ranges', pattern(0, 100));
    await expectFault(store.read(digest, { start: 100, end: 120 }), 'out-of-range');
    await expectFault(store.read(digest, { start: 50, end: 10 }), 'out-of-range');
    await expectFault(store.read(digest, { start: -1, end: 10 }), 'out-of-range');
    await expectFault(store.read(digest, { start: 1.5, end: 10 }), 'out-of-range');
  }));

  test('reading or deleting an absent blob is not-found with BLOB_UNKNOWN', withStore(async (store) => {
    const digest = digestOf('absent');
    assert.equal(await store.stat(digest), undefined);
    await expectFault(store.read(digest), 'not-found', 'BLOB_UNKNOWN');
    await expectFault(store.read(digest, { start: 0, end: 1 }), 'not-found', 'BLOB_UNKNOWN');
    await expectFault(store.delete(digest), 'not-found', 'BLOB_UNKNOWN');
  }));

  test('list yields every committed blob exactly once', withStore(async (store) => {
    const expected: BlobInfo[] = [];
    for (let i = 0; i < 5; i++) {
      const data = pattern(i * 13, 100 + i);
      expected.push({ digest: await put(store, `list-${i}`, data), size: data.byteLength });
    }
    await put(store, 'list-dup', pattern(0, 100));
    const open = await store.ingest('list-open');
    await open.write(chunked(pattern(1, 50), 50));
    assert.deepEqual(sortInfos(await listAll(store)), sortInfos(expected), 'open ingests are not listed');
    await open.cancel();
  }));
}

/** The optional blob GET fast path: the same bytes, ranges and faults as `read`. */
function describeCopyTo(withStore: WithStore): void {
  test('copyTo writes the blob or a range into a sink, with read\'s faults', withStore(async (store) => {
    if (!store.copyTo) return; // Optional: callers fall back to read().
    const data = pattern(2, 2 * 1024 * 1024 + 3);
    const digest = await put(store, 'copy', data);
    const whole = new CollectingSink();
    assert.equal(await store.copyTo(digest, whole), data.byteLength);
    assert.ok(whole.received().equals(data));
    assert.equal(whole.writableEnded, false, 'the caller ends the sink');
    const part = new CollectingSink();
    assert.equal(await store.copyTo(digest, part, { range: { start: 10, end: 5_000_000 } }), data.byteLength - 10);
    assert.ok(part.received().equals(data.subarray(10)));
    await expectFault(store.copyTo(digest, new CollectingSink(), { range: { start: data.byteLength, end: data.byteLength + 1 } }), 'out-of-range');
    await expectFault(store.copyTo(digestOf('absent'), new CollectingSink()), 'not-found', 'BLOB_UNKNOWN');
    await expectFault(store.copyTo(digestOf('absent'), new CollectingSink(), { range: { start: 0, end: 1 } }), 'not-found', 'BLOB_UNKNOWN');
    await expectFault(store.copyTo('sha256:nothex', new CollectingSink()), 'invalid-argument', 'DIGEST_INVALID');
  }));
}

/** Copies each chunk at its write callback, so a buffer reused before then shows as wrong bytes. */
class CollectingSink extends Writable {
  #chunks: Buffer[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    setImmediate(() => {
      this.#chunks.push(Buffer.from(chunk));
      callback();
    });
  }

  received(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

function describeVerification(withStore: WithStore): void {
  test('a digest mismatch fails with DIGEST_INVALID and leaves nothing behind', withStore(async (store) => {
    const data = pattern(0, 5000);
    const wrong = digestOf('something else');
    const writer = await store.ingest('mismatch');
    await writer.write(chunked(data, 999));
    await expectFault(writer.commit({ digest: wrong, size: 5000 }), 'invalid-argument', 'DIGEST_INVALID');
    assert.equal(await store.stat(wrong), undefined);
    assert.equal(await store.stat(digestOf(data)), undefined);
    assert.equal(await store.ingestStatus('mismatch'), undefined, 'the ingest is dropped');
    assert.deepEqual(await listAll(store), []);
    const again = await store.ingest('mismatch');
    assert.equal(again.offset, 0, 'the ref starts over');
    await again.cancel();
  }));

  test('a size mismatch fails with SIZE_INVALID and leaves nothing behind', withStore(async (store) => {
    const data = pattern(0, 5000);
    const writer = await store.ingest('short');
    await writer.write(chunked(data, 1000));
    await expectFault(writer.commit({ digest: digestOf(data), size: 5001 }), 'invalid-argument', 'SIZE_INVALID');
    assert.equal(await store.stat(digestOf(data)), undefined);
    assert.equal(await store.ingestStatus('short'), undefined);
    assert.deepEqual(await listAll(store), []);
  }));

  test('a malformed expected digest is refused before anything changes', withStore(async (store) => {
    const data = pattern(0, 64);
    const writer = await store.ingest('malformed');
    await writer.write(chunked(data, 64));
    await expectFault(writer.commit({ digest: 'sha256:nothex' }), 'invalid-argument', 'DIGEST_INVALID');
    await expectFault(writer.commit({ digest: 'md5:d41d8cd98f00b204e9800998ecf8427e' }), 'invalid-argument', 'DIGEST_INVALID');
    assert.equal(writer.offset, 64, 'the ingest survives a malformed request');
    await writer.commit({ digest: digestOf(data), size: 64 });
    assert.deepEqual(await readAll(store, digestOf(data)), data);
  }));

  test('a write past its limit keeps the bytes within the limit and fails too-large', withStore(async (store) => {
    const data = pattern(0, 25);
    const writer = await store.ingest('limited');
    await expectFault(writer.write(chunked(data, 4), { limit: 10 }), 'too-large');
    assert.equal(writer.offset, 10);
    assert.equal(await writer.digest(), digestOf(data.subarray(0, 10)));
    assert.equal(await writer.write(chunked(data.subarray(10), 15), { limit: 15 }), 25, 'exactly the limit is fine');
    await writer.commit({ digest: digestOf(data), size: 25 });
  }));
}

function describeResume(withStore: WithStore): void {
  test('an ingest closed mid-upload resumes at its offset with the hash state intact', withStore(async (store) => {
    const data = pattern(3, 300_000);
    const first = await store.ingest('resume');
    await first.write(chunked(data.subarray(0, 123_457), 10_000));
    await first.close();
    assert.deepEqual(await store.ingestStatus('resume'), { offset: 123_457 });
    const second = await store.ingest('resume');
    assert.equal(second.offset, 123_457);
    assert.equal(await second.digest(), digestOf(data.subarray(0, 123_457)));
    await second.write(chunked(data.subarray(123_457), 10_000));
    assert.deepEqual(await second.commit({ digest: digestOf(data), size: data.byteLength }), {
      digest: digestOf(data),
      size: data.byteLength,
    });
    assert.equal(await store.ingestStatus('resume'), undefined);
  }));

  test('an ingest resumes in a new store instance on the same storage', withStore(async (store, fixture) => {
    if (!fixture.reopen) return; // Volatile drivers have no second instance; resume-after-close covers them.
    const data = pattern(9, 200_000);
    const first = await store.ingest('restart');
    await first.write(chunked(data.subarray(0, 77_777), 5000));
    await first.close();
    const committed = await put(store, 'committed-before', pattern(1, 1000));
    const reopened = await fixture.reopen();
    assert.deepEqual(await reopened.ingestStatus('restart'), { offset: 77_777 });
    const second = await reopened.ingest('restart');
    assert.equal(second.offset, 77_777);
    await second.write(chunked(data.subarray(77_777), 5000));
    await second.commit({ digest: digestOf(data), size: data.byteLength });
    assert.deepEqual(await readAll(reopened, digestOf(data)), data);
    assert.deepEqual(await reopened.stat(committed), { digest: committed, size: 1000 });
  }));

  test('an aborted write keeps the bytes written so far and can resume', withStore(async (store) => {
    const head = pattern(0, 4096);
    const tail = pattern(4096, 1000);
    const writer = await store.ingest('aborted');
    const controller = new AbortController();
    const pending = writer.write(stalled(head, controller.signal), { signal: controller.signal });
    await until(() => writer.offset === head.byteLength);
    controller.abort();
    await assert.rejects(pending);
    assert.equal(writer.offset, 4096);
    assert.equal(await writer.digest(), digestOf(head));
    await writer.write(chunked(tail, 1000));
    const whole = Buffer.concat([head, tail]);
    await writer.commit({ digest: digestOf(whole), size: whole.byteLength });
    assert.deepEqual(await readAll(store, digestOf(whole)), whole);
  }));

  test('a settled write holds nothing of its chunks: memory reused after it changes neither the blob nor its digest', withStore(async (store) => {
    const slab = pattern(7, 3 * 1024 * 1024);
    const expected = Buffer.from(slab);
    const writer = await store.ingest('reused');
    await writer.write(chunked(slab, 256 * 1024));
    slab.fill(0xee);
    await writer.commit({ digest: digestOf(expected), size: expected.byteLength });
    assert.deepEqual(await readAll(store, digestOf(expected)), expected);
  }));

  test('a failing source keeps the bytes written so far', withStore(async (store) => {
    const head = pattern(0, 2048);
    const writer = await store.ingest('failing');
    const boom = new Error('client went away');
    await assert.rejects(writer.write(failing(head, boom)), (err) => err === boom || (err as Error).cause === boom);
    assert.equal(writer.offset, 2048);
    await writer.close();
    assert.deepEqual(await store.ingestStatus('failing'), { offset: 2048 });
    await store.abortIngest('failing');
  }));

  test('an already aborted signal writes nothing', withStore(async (store) => {
    const writer = await store.ingest('pre-aborted');
    await assert.rejects(writer.write(chunked(pattern(0, 10), 10), { signal: AbortSignal.abort() }));
    assert.equal(writer.offset, 0);
    await writer.cancel();
  }));
}

function describeIngestReads(withStore: WithStore): void {
  test('readIngest, where the store has it, reads what an open ingest holds as it grows', withStore(async (store) => {
    // Absent where the storage cannot read a file while it is written (s3): followers wait for the commit.
    if (!store.readIngest) return;
    const data = pattern(21, 500_000);
    const writer = await store.ingest('followed');
    await writer.write(chunked(data.subarray(0, 200_000), 30_000));
    const span = async (offset: number, length: number) => Buffer.concat(await (await store.readIngest!('followed', { offset, length })).toArray());
    assert.ok((await span(0, writer.offset)).equals(data.subarray(0, 200_000)));
    assert.equal((await span(200_000, 0)).byteLength, 0);
    await expectFault(store.readIngest('followed', { offset: 150_000, length: 50_001 }), 'out-of-range');
    await writer.write(chunked(data.subarray(200_000), 30_000));
    assert.ok((await span(150_000, 350_000)).equals(data.subarray(150_000)));
    await expectFault(store.readIngest('followed', { offset: -1, length: 1 }), 'invalid-argument');
    await expectFault(store.readIngest('../x', { offset: 0, length: 1 }), 'invalid-argument');
    await writer.commit({ digest: digestOf(data), size: data.byteLength });
    await expectFault(store.readIngest('followed', { offset: 0, length: 1 }), 'not-found', 'BLOB_UPLOAD_UNKNOWN');
    await store.delete(digestOf(data));
  }));
}

function describeConcurrency(withStore: WithStore): void {
  test('a second writer on the same ref is refused with conflict until the first is released', withStore(async (store) => {
    const first = await store.ingest('held');
    await expectFault(store.ingest('held'), 'conflict');
    await first.close();
    const second = await store.ingest('held');
    await second.cancel();
    const racing = await Promise.allSettled([store.ingest('race'), store.ingest('race')]);
    assert.equal(racing.filter((r) => r.status === 'fulfilled').length, 1, 'exactly one racing open wins');
    for (const r of racing) if (r.status === 'fulfilled') await r.value.cancel();
  }));

  test('concurrent ingests of the same digest both commit to one blob', withStore(async (store) => {
    const data = pattern(0, 200_000);
    const digest = digestOf(data);
    const writers = await Promise.all(['same-a', 'same-b', 'same-c'].map((ref) => store.ingest(ref)));
    await Promise.all(writers.map((w) => w.write(chunked(data, 8192))));
    const infos = await Promise.all(writers.map((w) => w.commit({ digest, size: data.byteLength })));
    for (const info of infos) assert.deepEqual(info, { digest, size: data.byteLength });
    assert.deepEqual(await listAll(store), [{ digest, size: data.byteLength }]);
    assert.deepEqual(await readAll(store, digest), data);
    for (const ref of ['same-a', 'same-b', 'same-c']) assert.equal(await store.ingestStatus(ref), undefined);
  }));

  test('committing a digest that already exists succeeds and drops the ingest', withStore(async (store) => {
    const data = pattern(0, 1234);
    const digest = await put(store, 'dup-1', data);
    const again = await store.ingest('dup-2');
    await again.write(chunked(data, 100));
    assert.deepEqual(await again.commit({ digest, size: 1234 }), { digest, size: 1234 });
    assert.equal(await store.ingestStatus('dup-2'), undefined);
    assert.deepEqual(await listAll(store), [{ digest, size: 1234 }]);
  }));

  test('two writes on one writer at once are refused', withStore(async (store) => {
    const writer = await store.ingest('double');
    const controller = new AbortController();
    const first = writer.write(stalled(pattern(0, 10), controller.signal), { signal: controller.signal });
    await expectFault(Promise.resolve().then(() => writer.write(chunked(pattern(0, 10), 10))), 'conflict');
    await expectFault(writer.commit({ digest: digestOf('x') }), 'conflict');
    controller.abort();
    await assert.rejects(first);
    await writer.cancel();
  }));

  test('a write racing a commit is refused and the commit wins', withStore(async (store) => {
    const data = pattern(0, 100);
    const writer = await store.ingest('racing-commit');
    await writer.write(chunked(data, 100));
    const committing = writer.commit({ digest: digestOf(data), size: 100 });
    await assert.rejects(writer.write(chunked(pattern(100, 10), 10)), (err: unknown) => {
      assert.ok(isFault(err, 'conflict') || isFault(err, 'failed-precondition'), String(err));
      return true;
    });
    assert.deepEqual(await committing, { digest: digestOf(data), size: 100 });
    assert.deepEqual(await readAll(store, digestOf(data)), data);
  }));

  test('closing a writer during a write stops the write and keeps its bytes', withStore(async (store) => {
    const head = pattern(0, 1000);
    const writer = await store.ingest('closing');
    const never = new AbortController();
    const pending = assert.rejects(writer.write(stalled(head, never.signal)));
    await until(() => writer.offset === 1000);
    await writer.close();
    await pending;
    assert.deepEqual(await store.ingestStatus('closing'), { offset: 1000 });
    never.abort();
    await store.abortIngest('closing');
  }));
}

/** What online garbage collection relies on: last use by commit and touch, and a delete that yields to it. */
function describeCollectionSupport(withStore: WithStore): void {
  test('list reports last use; touch refreshes it and is undefined when absent', withStore(async (store) => {
    const before = new Date(Date.now() - 1000);
    const digest = await put(store, 'used', pattern(3, 10));
    const [listed] = await collect(store.list());
    assert.ok(listed.usedAt >= before, 'a commit is a use');
    assert.deepEqual(await store.touch(digest), { digest, size: 10 });
    assert.equal(await store.touch(digestOf(Buffer.from('absent'))), undefined);
    await store.delete(digest);
  }));

  test('deleteUnused removes a blob unused since the cutoff and keeps one used at or after it', withStore(async (store) => {
    const digest = await put(store, 'old', pattern(4, 10));
    assert.equal(await store.deleteUnused(digest, new Date(Date.now() - 60_000)), false, 'used after the cutoff: kept');
    assert.deepEqual(await store.stat(digest), { digest, size: 10 });
    assert.equal(await store.deleteUnused(digest, new Date(Date.now() + 60_000)), true);
    assert.equal(await store.stat(digest), undefined);
    assert.equal(await store.deleteUnused(digest, new Date(Date.now() + 60_000)), false, 'absent');
    assert.equal(await store.recoverDeletes(), 0, 'nothing left aside');
    assert.deepEqual(await listAll(store), []);
  }));

  test('committing a digest already stored counts as a use of it', withStore(async (store) => {
    const digest = await put(store, 'first', pattern(5, 10));
    const cutoff = new Date(Date.now() + 5);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await put(store, 'second', pattern(5, 10));
    assert.equal(await store.deleteUnused(digest, cutoff), false);
    await store.delete(digest);
  }));
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

function describeRemoval(withStore: WithStore): void {
  test('delete removes a blob, and a second delete is not-found', withStore(async (store) => {
    const keep = await put(store, 'keep', pattern(0, 10));
    const gone = await put(store, 'gone', pattern(1, 10));
    await store.delete(gone);
    assert.equal(await store.stat(gone), undefined);
    await expectFault(store.read(gone), 'not-found', 'BLOB_UNKNOWN');
    await expectFault(store.delete(gone), 'not-found', 'BLOB_UNKNOWN');
    assert.deepEqual(await listAll(store), [{ digest: keep, size: 10 }]);
    assert.equal(await put(store, 'again', pattern(1, 10)), gone, 'a deleted digest can be pushed again');
  }));

  test('abortIngest drops open and abandoned ingests and is a no-op when absent', withStore(async (store) => {
    const open = await store.ingest('abort-open');
    await open.write(chunked(pattern(0, 100), 100));
    await store.abortIngest('abort-open');
    assert.equal(await store.ingestStatus('abort-open'), undefined);
    await expectFault(open.write(chunked(pattern(0, 1), 1)), 'failed-precondition');

    const left = await store.ingest('abort-left');
    await left.write(chunked(pattern(0, 100), 100));
    await left.close();
    await store.abortIngest('abort-left');
    assert.equal(await store.ingestStatus('abort-left'), undefined);
    const fresh = await store.ingest('abort-left');
    assert.equal(fresh.offset, 0);
    await fresh.cancel();

    await store.abortIngest('never-existed');
    assert.deepEqual(await listAll(store), []);
  }));

  test('cancel drops the bytes of an ingest', withStore(async (store) => {
    const writer = await store.ingest('cancelled');
    await writer.write(chunked(pattern(0, 100), 100));
    await writer.cancel();
    assert.equal(await store.ingestStatus('cancelled'), undefined);
    assert.deepEqual(await listAll(store), []);
  }));

  test('listIngests yields open and abandoned ingests with their sizes and last writes, not committed ones', withStore(async (store) => {
    const before = Date.now() - 2000;
    const open = await store.ingest('list-open');
    await open.write(chunked(pattern(0, 30), 30));
    const left = await store.ingest('list-left');
    await left.write(chunked(pattern(0, 70), 70));
    await left.close();
    const done = await store.ingest('list-done');
    await done.write(chunked(pattern(0, 5), 5));
    await done.commit({ digest: digestOf(pattern(0, 5)), size: 5 });
    const listed = new Map<string, { offset: number; updatedAt: Date }>();
    for await (const info of store.listIngests()) listed.set(info.ref, info);
    assert.equal(listed.get('list-open')?.offset, 30);
    assert.equal(listed.get('list-left')?.offset, 70);
    assert.ok(!listed.has('list-done'), 'a committed ingest is gone');
    for (const ref of ['list-open', 'list-left']) assert.ok((listed.get(ref)?.updatedAt.getTime() ?? 0) >= before);
    await open.cancel();
    await store.abortIngest('list-left');
  }));

  test('ingestStatus is undefined for an unknown ref', withStore(async (store) => {
    assert.equal(await store.ingestStatus('nobody'), undefined);
  }));
}

function describeValidation(withStore: WithStore): void {
  test('malformed digests are refused with DIGEST_INVALID', withStore(async (store) => {
    for (const bad of ['', 'sha256:xyz', 'sha256:../../etc/passwd', '../blobs', 'md5:d41d8cd98f00b204e9800998ecf8427e', `sha256:${'A'.repeat(64)}`]) {
      await expectFault(store.stat(bad), 'invalid-argument', 'DIGEST_INVALID');
      await expectFault(store.read(bad), 'invalid-argument', 'DIGEST_INVALID');
      await expectFault(store.delete(bad), 'invalid-argument', 'DIGEST_INVALID');
    }
  }));

  test('malformed refs are refused before touching storage', withStore(async (store) => {
    for (const bad of ['', '..', '../x', 'a/b', 'a.b', 'x'.repeat(129), 'white space', 'nul\0']) {
      await expectFault(store.ingest(bad), 'invalid-argument');
      await expectFault(store.ingestStatus(bad), 'invalid-argument');
      await expectFault(store.abortIngest(bad), 'invalid-argument');
    }
    const longest = await store.ingest('x'.repeat(128));
    await longest.cancel();
    assert.deepEqual(await listAll(store), []);
  }));
}

// ---- helpers ----

/** Deterministic bytes by absolute position, so a resumed upload can be checked against its whole. */
export function pattern(start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((start + i) * 2654435761) >>> 24;
  return out;
}

export async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

/** Yields `head`, then waits until `signal` aborts (a client that stops sending). */
async function* stalled(head: Uint8Array, signal: AbortSignal): AsyncGenerator<Uint8Array> {
  yield head;
  await new Promise((resolve) => {
    if (signal.aborted) resolve(undefined);
    signal.addEventListener('abort', resolve, { once: true });
  });
}

async function* failing(head: Uint8Array, err: Error): AsyncGenerator<Uint8Array> {
  yield head;
  await new Promise((resolve) => setTimeout(resolve, 5));
  throw err;
}

async function put(store: BlobStore, ref: string, data: Uint8Array): Promise<string> {
  const digest = digestOf(data);
  const writer: BlobWriter = await store.ingest(ref);
  await writer.write(chunked(data, 64 * 1024));
  await writer.commit({ digest, size: data.byteLength });
  return digest;
}

async function readAll(store: BlobStore, digest: string, range?: { start: number; end: number }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of await store.read(digest, range)) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function listAll(store: BlobStore): Promise<BlobInfo[]> {
  const out: BlobInfo[] = [];
  for await (const info of store.list()) out.push({ digest: info.digest, size: info.size });
  return out;
}

function sortInfos(infos: BlobInfo[]): BlobInfo[] {
  return [...infos].sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
}

async function expectFault(promise: Promise<unknown>, kind: FaultKind, code?: string): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFault(err, kind), `expected Fault ${kind}, got ${String(err)}`);
    if (code !== undefined) assert.equal(err.code, code);
    return true;
  });
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
