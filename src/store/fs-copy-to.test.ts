import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdirSync } from 'node:fs';
import { unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { isFault } from '../base/fault.ts';
import { withTempDir } from '../../test/support/temp.ts';
import { copyFileTo } from './fs-copy-to.ts';

const MiB = 1024 * 1024;

/**
 * Keeps what it was given, copying each chunk only when its write completes after `delayMs`: a buffer the copy
 * reused before the write callback would show up as wrong bytes. A small highWaterMark makes it ask for 'drain'.
 */
class SlowSink extends Writable {
  readonly chunks: Buffer[] = [];
  writes = 0;
  readonly #delayMs: number;
  readonly #failAfter: number;

  constructor(options: { delayMs?: number; failAfter?: number } = {}) {
    super({ highWaterMark: 16 * 1024 });
    this.#delayMs = options.delayMs ?? 0;
    this.#failAfter = options.failAfter ?? Number.POSITIVE_INFINITY;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (err?: Error) => void): void {
    const n = ++this.writes;
    setTimeout(() => {
      if (n > this.#failAfter) return callback(new Error('sink broke'));
      this.chunks.push(Buffer.from(chunk));
      callback();
    }, this.#delayMs);
  }

  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

const openFds = () => readdirSync('/proc/self/fd').length;

async function withFile(size: number, work: (path: string, data: Buffer) => Promise<void>): Promise<void> {
  await withTempDir('wharf-copy-to-', async (dir) => {
    const data = randomBytes(size);
    const path = join(dir, 'blob');
    await writeFile(path, data);
    await work(path, data);
  });
}

describe('copyFileTo', () => {
  test('copies a whole file of several buffers through a slow sink, every byte intact', async () => {
    await withFile(3.5 * MiB + 17, async (path, data) => {
      const sink = new SlowSink({ delayMs: 5 });
      assert.equal(await copyFileTo(path, sink), data.length);
      assert.ok(sink.bytes.equals(data));
      assert.ok(sink.writes >= 4);
    });
  });

  test('copies spans: a middle, an end past the size (clamped), an open end, the last byte, an empty tail', async () => {
    await withFile(2 * MiB + 5, async (path, data) => {
      const spans = [
        { start: 10, end: 1.5 * MiB },
        { start: MiB - 1, end: 10 * MiB },
        { start: MiB + 3 },
        { start: data.length - 1, end: data.length - 1 },
        { start: data.length },
      ];
      for (const span of spans) {
        const sink = new SlowSink();
        const expected = data.subarray(span.start, span.end === undefined ? undefined : span.end + 1);
        assert.equal(await copyFileTo(path, sink, { span }), expected.length, JSON.stringify(span));
        assert.ok(sink.bytes.equals(expected), JSON.stringify(span));
      }
    });
  });

  test('a span starting past the end is out-of-range, a missing file not-found, and neither leaves a handle open', async () => {
    await withFile(100, async (path) => {
      const before = openFds();
      await assert.rejects(copyFileTo(path, new SlowSink(), { span: { start: 101 } }), (err) => isFault(err, 'out-of-range'));
      await assert.rejects(copyFileTo(path, new SlowSink(), { span: { start: 50, end: 10 } }), (err) => isFault(err, 'out-of-range'));
      await assert.rejects(copyFileTo(`${path}.absent`, new SlowSink()), (err) => isFault(err, 'not-found'));
      assert.equal(openFds(), before);
    });
  });

  test('a zero-length file copies nothing and returns 0', async () => {
    await withFile(0, async (path) => {
      const sink = new SlowSink();
      assert.equal(await copyFileTo(path, sink), 0);
      assert.equal(sink.writes, 0);
    });
  });

  test('a sink that fails rejects the copy with its error and closes the file', async () => {
    await withFile(4 * MiB, async (path) => {
      const before = openFds();
      const sink = new SlowSink({ delayMs: 1, failAfter: 1 });
      sink.on('error', () => {});
      await assert.rejects(copyFileTo(path, sink), /sink broke/);
      assert.equal(openFds(), before);
    });
  });

  test('a sink destroyed mid-copy (the client went away) rejects the copy and closes the file', async () => {
    await withFile(8 * MiB, async (path) => {
      const before = openFds();
      const sink = new SlowSink({ delayMs: 20 });
      const copying = copyFileTo(path, sink);
      await sleep(30);
      sink.destroy();
      await assert.rejects(copying, (err) => isFault(err, 'unavailable'));
      assert.equal(openFds(), before);
    });
  });

  test('an abort rejects with the signal reason and closes the file; an aborted signal copies nothing', async () => {
    await withFile(8 * MiB, async (path) => {
      const before = openFds();
      const abort = new AbortController();
      const sink = new SlowSink({ delayMs: 20 });
      const copying = copyFileTo(path, sink, { signal: abort.signal });
      await sleep(30);
      abort.abort(new Error('client gone'));
      await assert.rejects(copying, /client gone/);
      assert.ok(sink.chunks.length < 8);
      await assert.rejects(copyFileTo(path, new SlowSink(), { signal: abort.signal }), /client gone/);
      assert.equal(openFds(), before);
    });
  });

  test('a delete once the copy has started does not cut it short', async () => {
    await withFile(6 * MiB, async (path, data) => {
      const sink = new SlowSink({ delayMs: 10 });
      const copying = copyFileTo(path, sink);
      await once(sink, 'drain'); // the first MiB is through: the file is open
      await unlink(path);
      assert.equal(await copying, data.length);
      assert.ok(sink.bytes.equals(data));
    });
  });
});
