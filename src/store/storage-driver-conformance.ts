import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFault, type FaultKind } from '../base/fault.ts';
import type { StorageDriver, StorageSpan } from './storage-driver.ts';

export interface StorageDriverFixture {
  driver: StorageDriver;
  cleanup(): Promise<void>;
  /** A new instance on the same backing storage (a restart, another replica), for drivers that persist. */
  reopen?(): Promise<StorageDriver>;
  /** Granularity of `modifiedAt` (s3: whole seconds); the time-sensitive cases wait this much. Default 20 ms. */
  clockResolutionMs?: number;
}

/**
 * The one suite every StorageDriver passes (distribution's storagedriver testsuites). It knows nothing of the
 * backend: paths are driver paths, and every check goes through the driver. Each case gets a fresh driver.
 */
export function describeStorageDriver(name: string, make: () => Promise<StorageDriverFixture>): void {
  const withDriver = (fn: (driver: StorageDriver, fixture: StorageDriverFixture) => Promise<void>) => async () => {
    const fixture = await make();
    try {
      await fn(fixture.driver, fixture);
    } finally {
      await fixture.cleanup();
    }
  };
  describe(`StorageDriver conformance: ${name}`, () => {
    describeContent(withDriver);
    describeReads(withDriver);
    describeCopyTo(withDriver);
    describeWriter(withDriver);
    describeWriterInterruptions(withDriver);
    describeNamespace(withDriver);
    describeCollectionSupport(withDriver);
    describeAbsent(withDriver);
  });
}

type WithDriver = (fn: (driver: StorageDriver, fixture: StorageDriverFixture) => Promise<void>) => () => Promise<void>;

function describeContent(withDriver: WithDriver): void {
  test('putContent then getContent returns the bytes; a second put replaces them', withDriver(async (driver) => {
    const first = bytes(1, 10_000);
    await driver.putContent('meta/one', first);
    assert.deepEqual(await driver.getContent('meta/one', 10_000), first);
    await driver.putContent('meta/one', bytes(2, 10));
    assert.deepEqual(await driver.getContent('meta/one', 10_000), bytes(2, 10));
    await driver.putContent('meta/empty', new Uint8Array(0));
    assert.equal((await driver.getContent('meta/empty', 0)).byteLength, 0);
    assert.equal((await driver.stat('meta/one'))?.size, 10);
  }));

  test('getContent refuses a file larger than its limit with invalid-argument', withDriver(async (driver) => {
    await driver.putContent('meta/big', bytes(3, 1001));
    await expectFault(driver.getContent('meta/big', 1000), 'invalid-argument');
    assert.equal((await driver.getContent('meta/big', 1001)).byteLength, 1001);
  }));

  test('putContent is atomic: concurrent readers see the old or the new content whole', withDriver(async (driver) => {
    const versions = [bytes(10, 300_000), bytes(20, 200_000)];
    await driver.putContent('meta/atomic', versions[0]);
    const seen: Buffer[] = [];
    const readers = async () => {
      for (let i = 0; i < 10; i++) {
        seen.push(await driver.getContent('meta/atomic', 1_000_000));
        seen.push(await readAll(await driver.reader('meta/atomic')));
      }
    };
    const writers = async () => {
      for (let i = 1; i <= 10; i++) await driver.putContent('meta/atomic', versions[i % 2]);
    };
    await Promise.all([readers(), writers(), readers()]);
    for (const content of seen) assert.ok(content.equals(versions[0]) || content.equals(versions[1]), `a mixed read of ${content.byteLength} bytes`);
  }));
}

function describeReads(withDriver: WithDriver): void {
  test('reader streams the whole file or an inclusive span of it', withDriver(async (driver) => {
    const data = await putWritten(driver, 'blobs/read', bytes(4, 3 * 1024 * 1024 + 17));
    assert.ok((await readAll(await driver.reader('blobs/read'))).equals(data));
    const spans: [StorageSpan, Buffer][] = [
      [{ start: 0, end: 0 }, data.subarray(0, 1)],
      [{ start: 10, end: 19 }, data.subarray(10, 20)],
      [{ start: 1_000_000 }, data.subarray(1_000_000)],
      [{ start: data.byteLength - 1, end: data.byteLength - 1 }, data.subarray(data.byteLength - 1)],
      [{ start: 5, end: data.byteLength + 100 }, data.subarray(5)],
    ];
    for (const [span, expected] of spans) assert.ok((await readAll(await driver.reader('blobs/read', span))).equals(expected), JSON.stringify(span));
  }));

  test('a reader of an empty file ends at once', withDriver(async (driver) => {
    await driver.putContent('blobs/empty', new Uint8Array(0));
    assert.equal((await readAll(await driver.reader('blobs/empty'))).byteLength, 0);
  }));

  test('a reader is bound to the content that existed when it opened', withDriver(async (driver) => {
    const old = await putWritten(driver, 'blobs/bound', bytes(5, 100_000));
    const replaced = await driver.reader('blobs/bound');
    const deleted = await driver.reader('blobs/bound', { start: 100 });
    await driver.putContent('blobs/bound', bytes(6, 50));
    assert.ok((await readAll(replaced)).equals(old));
    await driver.delete('blobs/bound');
    assert.ok((await readAll(deleted)).equals(old.subarray(100)));
  }));
}

function describeCopyTo(withDriver: WithDriver): void {
  test('copyTo hands the file to a slow sink with back-pressure, without ending it', withDriver(async (driver) => {
    const data = await putWritten(driver, 'blobs/copy', bytes(7, 3 * 1024 * 1024 + 5));
    const sink = new SlowSink();
    assert.equal(await driver.copyTo('blobs/copy', sink, {}), data.byteLength);
    assert.ok(sink.received().equals(data), 'every byte, in order, as it was at its write callback');
    assert.ok(sink.waitedForDrain > 0, 'the sink asked for drain and was waited for');
    assert.equal(sink.writableEnded, false, 'the caller ends the sink');
  }));

  test('copyTo copies an inclusive span', withDriver(async (driver) => {
    const data = await putWritten(driver, 'blobs/copy-span', bytes(8, 500_000));
    const sink = new SlowSink();
    assert.equal(await driver.copyTo('blobs/copy-span', sink, { span: { start: 1000, end: 299_999 } }), 299_000);
    assert.ok(sink.received().equals(data.subarray(1000, 300_000)));
    const tail = new SlowSink();
    assert.equal(await driver.copyTo('blobs/copy-span', tail, { span: { start: 499_000 } }), 1000);
    assert.ok(tail.received().equals(data.subarray(499_000)));
  }));

  test('copyTo rejects when the sink fails or is destroyed, or the signal aborts', withDriver(async (driver) => {
    await putWritten(driver, 'blobs/copy-fail', bytes(9, 2 * 1024 * 1024 + 1));
    const failing = new SlowSink({ failAfter: 1 });
    failing.on('error', () => {});
    await assert.rejects(driver.copyTo('blobs/copy-fail', failing, {}));
    const destroyed = new SlowSink({ stallAfter: 1 });
    const copying = driver.copyTo('blobs/copy-fail', destroyed, {});
    await until(() => destroyed.writes > 1);
    destroyed.destroy();
    await assert.rejects(copying);
    const controller = new AbortController();
    const aborting = new SlowSink({ stallAfter: 1 });
    const aborted = driver.copyTo('blobs/copy-fail', aborting, { signal: controller.signal });
    await until(() => aborting.writes > 1);
    controller.abort(new Error('client went away'));
    await assert.rejects(aborted);
    aborting.destroy();
    await assert.rejects(driver.copyTo('blobs/copy-fail', new SlowSink(), { signal: AbortSignal.abort() }));
  }));
}

function describeWriter(withDriver: WithDriver): void {
  test('a writer appends several writes and commits them at its path', withDriver(async (driver) => {
    const a = bytes(11, 100_000);
    const b = bytes(12, 2 * 1024 * 1024);
    const writer = await driver.writer('ingest/w/data', { append: false });
    assert.equal(writer.path, 'ingest/w/data');
    assert.equal(writer.size, 0);
    assert.equal(await writer.write(chunked(a, 7000)), a.byteLength);
    assert.equal(await writer.write(Readable.from([b])), a.byteLength + b.byteLength);
    assert.equal(writer.size, a.byteLength + b.byteLength);
    const before = Date.now();
    await writer.commit();
    const info = await driver.stat('ingest/w/data');
    assert.equal(info?.size, a.byteLength + b.byteLength);
    assert.ok((info?.modifiedAt.getTime() ?? 0) >= before - 1000, 'a commit is a write: modifiedAt is its time');
    assert.ok((await readAll(await driver.reader('ingest/w/data'))).equals(Buffer.concat([a, b])));
    await expectFault(writer.write(chunked(a, 10)), 'failed-precondition');
    await writer.close();
    await writer.cancel();
    assert.equal((await driver.stat('ingest/w/data'))?.size, a.byteLength + b.byteLength, 'close and cancel after commit keep the file');
  }));

  test('close keeps the bytes, and a writer opened to append continues after them', withDriver(async (driver, fixture) => {
    const data = bytes(13, 1_500_000);
    const first = await driver.writer('ingest/resume/data', { append: true });
    assert.equal(first.size, 0, 'append to an absent file starts it empty');
    await first.write(chunked(data.subarray(0, 654_321), 50_000));
    await first.close();
    await expectFault(first.write(chunked(data, 10)), 'failed-precondition');
    assert.equal((await driver.stat('ingest/resume/data'))?.size, 654_321, 'closed bytes are visible to stat');
    assert.ok((await readAll(await driver.reader('ingest/resume/data'))).equals(data.subarray(0, 654_321)), 'and to reader');
    const other = fixture.reopen ? await fixture.reopen() : driver;
    const second = await other.writer('ingest/resume/data', { append: true });
    assert.equal(second.size, 654_321);
    assert.equal(await second.write(chunked(data.subarray(654_321), 50_000)), data.byteLength);
    await second.commit();
    assert.ok((await driver.getContent('ingest/resume/data', data.byteLength)).equals(data));
  }));

  test('a settled write holds nothing of its chunks: memory reused after it does not reach the file', withDriver(async (driver) => {
    const slab = bytes(14, 3 * 1024 * 1024);
    const expected = Buffer.from(slab);
    const writer = await driver.writer('ingest/reuse/data', { append: false });
    await writer.write(chunked(slab, 256 * 1024));
    slab.fill(0xee);
    await writer.write(Readable.from([Buffer.alloc(10, 1)]));
    await writer.commit();
    assert.ok((await readAll(await driver.reader('ingest/reuse/data'))).equals(Buffer.concat([expected, Buffer.alloc(10, 1)])));
  }));

  test('a writer opened without append starts the file over', withDriver(async (driver) => {
    await putWritten(driver, 'ingest/over/data', bytes(14, 5000));
    const writer = await driver.writer('ingest/over/data', { append: false });
    assert.equal(writer.size, 0);
    await writer.write(chunked(bytes(15, 100), 100));
    await writer.commit();
    assert.ok((await driver.getContent('ingest/over/data', 10_000)).equals(bytes(15, 100)));
  }));

  test('cancel drops the file, also one continued by an append', withDriver(async (driver) => {
    const fresh = await driver.writer('ingest/cancel/data', { append: false });
    await fresh.write(chunked(bytes(16, 1000), 100));
    await fresh.cancel();
    assert.equal(await driver.stat('ingest/cancel/data'), undefined);
    await expectFault(fresh.write(chunked(bytes(16, 10), 10)), 'failed-precondition');
    await putWritten(driver, 'ingest/cancel/data', bytes(17, 1000), { commit: false });
    const continued = await driver.writer('ingest/cancel/data', { append: true });
    assert.equal(continued.size, 1000);
    await continued.cancel();
    assert.equal(await driver.stat('ingest/cancel/data'), undefined);
  }));

  test('readsOpenWrites: a reader sees every byte an open writer\'s size counts, also during a write', withDriver(async (driver, fixture) => {
    assert.equal(typeof driver.readsOpenWrites, 'boolean');
    // s3 says false: parts of a multipart upload are not readable until the writer commits or closes.
    if (!driver.readsOpenWrites) return;
    const data = bytes(22, 900_000);
    const writer = await driver.writer('ingest/open-read/data', { append: false });
    await writer.write(chunked(data.subarray(0, 300_000), 40_000));
    assert.ok((await readAll(await driver.reader('ingest/open-read/data', { start: 0, end: writer.size - 1 }))).equals(data.subarray(0, 300_000)));
    const stop = new AbortController();
    const source = stalled(data.subarray(300_000, 700_000), stop.signal);
    const pending = writer.write(source, { signal: stop.signal });
    await until(() => writer.size > 300_000);
    const seen = writer.size;
    assert.ok((await readAll(await driver.reader('ingest/open-read/data', { start: 250_000, end: seen - 1 }))).equals(data.subarray(250_000, seen)));
    await until(() => source.consumed && writer.size === 700_000);
    assert.equal((await driver.stat('ingest/open-read/data'))?.size, 700_000, 'stat sees them too');
    stop.abort(new Error('done'));
    await assert.rejects(pending);
    await writer.write(chunked(data.subarray(700_000), 64 * 1024));
    const other = fixture.reopen ? await fixture.reopen() : driver;
    assert.ok((await readAll(await other.reader('ingest/open-read/data'))).equals(data), 'another instance on the same storage too');
    await writer.cancel();
  }));

  test('an empty write and an empty commit make an empty file', withDriver(async (driver) => {
    const writer = await driver.writer('ingest/empty/data', { append: false });
    assert.equal(await writer.write(chunked(new Uint8Array(0), 1)), 0);
    await writer.commit();
    assert.deepEqual(await driver.stat('ingest/empty/data').then((i) => i?.size), 0);
  }));
}

function describeWriterInterruptions(withDriver: WithDriver): void {
  test('an aborted write keeps what the driver acknowledged, and the writer continues from there', withDriver(async (driver) => {
    const data = bytes(18, 600_000);
    const writer = await driver.writer('ingest/abort/data', { append: false });
    const controller = new AbortController();
    const source = stalled(data.subarray(0, 400_000), controller.signal);
    const pending = writer.write(source, { signal: controller.signal });
    await until(() => source.consumed);
    controller.abort(new Error('client went away'));
    await assert.rejects(pending);
    const kept = writer.size;
    assert.ok(kept <= 400_000, `kept ${kept} bytes of 400000`);
    await writer.write(chunked(data.subarray(kept), 64 * 1024));
    await writer.commit();
    assert.ok((await driver.getContent('ingest/abort/data', data.byteLength)).equals(data));
  }));

  test('a failing source rejects the write; the bytes kept are what size says, after close too', withDriver(async (driver) => {
    const writer = await driver.writer('ingest/failing/data', { append: false });
    const boom = new Error('source failed');
    await assert.rejects(writer.write(failing(bytes(19, 300_000), boom)), (err) => err === boom || (err as Error).cause === boom);
    const kept = writer.size;
    assert.ok(kept <= 300_000);
    await writer.close();
    assert.equal((await driver.stat('ingest/failing/data'))?.size ?? 0, kept);
    const again = await driver.writer('ingest/failing/data', { append: true });
    assert.equal(again.size, kept);
    await again.cancel();
  }));

  test('close during a write stops the write and keeps its bytes', withDriver(async (driver) => {
    const writer = await driver.writer('ingest/closing/data', { append: false });
    const never = new AbortController();
    const source = stalled(bytes(20, 200_000), never.signal);
    const pending = assert.rejects(writer.write(source));
    await until(() => source.consumed);
    await writer.close();
    await pending;
    never.abort();
    const again = await driver.writer('ingest/closing/data', { append: true });
    assert.equal(again.size, writer.size);
    assert.ok(again.size <= 200_000);
    await again.cancel();
  }));

  test('an already aborted signal writes nothing', withDriver(async (driver) => {
    const writer = await driver.writer('ingest/pre-aborted/data', { append: false });
    await assert.rejects(writer.write(chunked(bytes(21, 100), 10), { signal: AbortSignal.abort() }));
    assert.equal(writer.size, 0);
    await writer.cancel();
  }));
}

function describeNamespace(withDriver: WithDriver): void {
  test('list yields every file under a prefix, recursively, in byte order of the paths', withDriver(async (driver) => {
    const paths = ['a/b/c', 'a/b.x', 'a/c', 'a/b/d/e', 'a.x', 'ab/z', 'b/a'];
    for (const [i, path] of paths.entries()) await driver.putContent(path, bytes(i, i + 1));
    const listed = await collect(driver.list('a'));
    assert.deepEqual(listed.map((f) => f.path), ['a/b.x', 'a/b/c', 'a/b/d/e', 'a/c']);
    assert.deepEqual(listed.map((f) => f.size), [2, 1, 4, 3]);
    for (const file of listed) assert.ok(file.modifiedAt instanceof Date && file.modifiedAt.getTime() > Date.now() - 60_000);
    assert.deepEqual((await collect(driver.list('a/b'))).map((f) => f.path), ['a/b/c', 'a/b/d/e']);
    assert.deepEqual(await collect(driver.list('nothing')), []);
  }));

  test('move renames a file, replacing the target', withDriver(async (driver) => {
    await putWritten(driver, 'ingest/m/data', bytes(22, 70_000));
    await driver.move('ingest/m/data', 'blobs/sha256/ab/moved');
    assert.equal(await driver.stat('ingest/m/data'), undefined);
    assert.ok((await driver.getContent('blobs/sha256/ab/moved', 100_000)).equals(bytes(22, 70_000)));
    await driver.putContent('ingest/n/data', bytes(23, 10));
    await driver.move('ingest/n/data', 'blobs/sha256/ab/moved');
    assert.ok((await driver.getContent('blobs/sha256/ab/moved', 100_000)).equals(bytes(23, 10)));
    assert.deepEqual((await collect(driver.list('ingest'))).map((f) => f.path), []);
  }));

  test('delete removes a file, or every file under a prefix and nothing beside it', withDriver(async (driver) => {
    for (const path of ['d/one', 'd/sub/two', 'd/sub/deeper/three', 'd/subx', 'e/four']) await driver.putContent(path, bytes(24, 5));
    await driver.delete('d/one');
    assert.equal(await driver.stat('d/one'), undefined);
    await driver.delete('d/sub');
    assert.deepEqual((await collect(driver.list('d'))).map((f) => f.path), ['d/subx']);
    await driver.delete('d/absent');
    assert.deepEqual((await collect(driver.list('e'))).map((f) => f.path), ['e/four']);
  }));

  test('stat reports size and modification; a directory prefix is not a file', withDriver(async (driver) => {
    const before = Date.now();
    await driver.putContent('s/t/file', bytes(25, 123));
    const info = await driver.stat('s/t/file');
    assert.equal(info?.path, 's/t/file');
    assert.equal(info?.size, 123);
    assert.ok((info?.modifiedAt.getTime() ?? 0) >= before - 1000);
    assert.equal(await driver.stat('s/t'), undefined);
  }));

  test('files survive a new driver instance on the same storage', withDriver(async (driver, fixture) => {
    if (!fixture.reopen) return; // A volatile driver has no second instance.
    await driver.putContent('p/kept', bytes(26, 1000));
    const other = await fixture.reopen();
    assert.ok((await other.getContent('p/kept', 1000)).equals(bytes(26, 1000)));
  }));
}

function describeCollectionSupport(withDriver: WithDriver): void {
  test('touch sets modifiedAt to now; false when absent', withDriver(async (driver, fixture) => {
    const tick = fixture.clockResolutionMs ?? 20;
    await driver.putContent('g/touched', bytes(27, 10));
    const written = (await driver.stat('g/touched'))?.modifiedAt.getTime() ?? 0;
    await sleep(tick * 2 + 10);
    const before = Date.now();
    assert.equal(await driver.touch('g/touched'), true);
    const touched = (await driver.stat('g/touched'))?.modifiedAt.getTime() ?? 0;
    assert.ok(touched > written && touched >= before - tick, `touched at ${touched}, written at ${written}, asked at ${before}`);
    assert.equal(await driver.touch('g/absent'), false);
    assert.equal(await driver.stat('g/absent'), undefined, 'touch does not create');
  }));

  test('removeIfUnusedSince removes a file unused since the cutoff and keeps one used at or after it', withDriver(async (driver) => {
    await driver.putContent('g/old', bytes(28, 10));
    assert.equal(await driver.removeIfUnusedSince('g/old', new Date(Date.now() - 60_000)), false);
    assert.equal((await driver.stat('g/old'))?.size, 10);
    assert.equal(await driver.removeIfUnusedSince('g/old', new Date(Date.now() + 60_000)), true);
    assert.equal(await driver.stat('g/old'), undefined);
    assert.equal(await driver.removeIfUnusedSince('g/old', new Date(Date.now() + 60_000)), false, 'absent');
    assert.equal(await driver.recoverRemovals('g'), 0, 'nothing left aside');
    assert.deepEqual(await collect(driver.list('g')), []);
  }));

  test('removeIfUnusedSince never removes a file whose racing touch succeeded', withDriver(async (driver, fixture) => {
    const tick = fixture.clockResolutionMs ?? 20;
    const rounds = tick >= 1000 ? 3 : 12;
    const paths = Array.from({ length: rounds }, (_, i) => `g/race/${i}`);
    for (const path of paths) await driver.putContent(path, bytes(29, 100));
    await sleep(tick * 2 + 10);
    const cutoff = new Date();
    await sleep(tick * 2 + 10);
    const outcomes = await Promise.all(
      paths.map(async (path, i) => {
        const delay = (ms: number) => (ms === 0 ? Promise.resolve() : sleep(ms));
        const [removed, touched] = await Promise.all([
          delay(i % 3).then(() => driver.removeIfUnusedSince(path, cutoff)),
          delay((i + 1) % 3).then(() => driver.touch(path)),
        ]);
        return { path, removed, touched, present: (await driver.stat(path)) !== undefined };
      }),
    );
    for (const { path, removed, touched, present } of outcomes) {
      assert.ok(!(removed && touched), `${path}: removed although its touch succeeded`);
      assert.equal(present, !removed, `${path}: present ${present}, removed ${removed}`);
    }
    assert.equal(await driver.recoverRemovals('g'), 0);
  }));
}

function describeAbsent(withDriver: WithDriver): void {
  test('absent paths: not-found where the driver reads or moves, a quiet answer elsewhere', withDriver(async (driver) => {
    await expectFault(driver.getContent('x/absent', 10), 'not-found');
    await expectFault(driver.reader('x/absent'), 'not-found');
    await expectFault(driver.reader('x/absent', { start: 0, end: 1 }), 'not-found');
    await expectFault(driver.copyTo('x/absent', new SlowSink(), {}), 'not-found');
    await expectFault(driver.move('x/absent', 'x/there'), 'not-found');
    assert.equal(await driver.stat('x/absent'), undefined);
    assert.equal(await driver.touch('x/absent'), false);
    assert.equal(await driver.removeIfUnusedSince('x/absent', new Date()), false);
    await driver.delete('x/absent');
    assert.deepEqual(await collect(driver.list('x')), []);
    assert.equal(await driver.recoverRemovals('x'), 0);
    assert.equal(await driver.stat('x/there'), undefined);
  }));
}

// ---- helpers ----

/** Deterministic bytes by seed and position. */
function bytes(seed: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) out[i] = ((seed * 7919 + i) * 2654435761) >>> 24;
  return out;
}

async function* chunked(data: Uint8Array, size: number): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < data.byteLength; at += size) yield data.subarray(at, at + size);
}

/** Writes `data` through a writer and commits it (or closes it, leaving the bytes to append to). */
async function putWritten(driver: StorageDriver, path: string, data: Buffer, options = { commit: true }): Promise<Buffer> {
  const writer = await driver.writer(path, { append: false });
  await writer.write(chunked(data, 256 * 1024));
  await (options.commit ? writer.commit() : writer.close());
  return data;
}

/** Yields `head` in pieces, then waits until `signal` aborts (a client that stops sending); `consumed` after the head. */
function stalled(head: Uint8Array, signal: AbortSignal): AsyncIterable<Uint8Array> & { consumed: boolean } {
  const source = {
    consumed: false,
    async *[Symbol.asyncIterator]() {
      for (let at = 0; at < head.byteLength; at += 64 * 1024) yield head.subarray(at, at + 64 * 1024);
      source.consumed = true;
      await new Promise((resolve) => {
        if (signal.aborted) resolve(undefined);
        signal.addEventListener('abort', resolve, { once: true });
      });
    },
  };
  return source;
}

async function* failing(head: Uint8Array, err: Error): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < head.byteLength; at += 64 * 1024) yield head.subarray(at, at + 64 * 1024);
  await sleep(5);
  throw err;
}

/**
 * An HTTP response's stand-in: a small highWaterMark and a delay before each write's callback, so a copy must
 * wait for 'drain'. Each chunk is copied only at its callback: a buffer reused before then shows as wrong bytes.
 */
class SlowSink extends Writable {
  writes = 0;
  waitedForDrain = 0;
  #chunks: Buffer[] = [];
  #failAfter: number;
  #stallAfter: number;

  /** `failAfter` writes, the next fails; `stallAfter` writes, the next never completes (a client gone quiet). */
  constructor(options: { failAfter?: number; stallAfter?: number } = {}) {
    super({ highWaterMark: 16 * 1024 });
    this.#failAfter = options.failAfter ?? Number.POSITIVE_INFINITY;
    this.#stallAfter = options.stallAfter ?? Number.POSITIVE_INFINITY;
    this.on('drain', () => this.waitedForDrain++);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error | null) => void): void {
    this.writes++;
    if (this.writes > this.#failAfter) return callback(new Error('sink failed'));
    if (this.writes > this.#stallAfter) return;
    setTimeout(() => {
      this.#chunks.push(Buffer.from(chunk));
      callback();
    }, this.writes % 4 === 0 ? 1 : 0);
  }

  received(): Buffer {
    return Buffer.concat(this.#chunks);
  }
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks);
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function expectFault(promise: Promise<unknown>, kind: FaultKind): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(isFault(err, kind), `expected Fault ${kind}, got ${String(err)}`);
    return true;
  });
}

async function until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(2);
  }
}
