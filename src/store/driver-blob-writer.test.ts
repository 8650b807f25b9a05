import assert from 'node:assert/strict';
import type { FileHandle } from 'node:fs/promises';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { Fault } from '../base/fault.ts';
import { digestOf } from '../oci/digest.ts';
import { chunked, pattern } from './conformance.ts';
import { DriverBlobStore } from './driver-blob-store.ts';
import { FsDriver } from './fs-driver.ts';
import { FsDriverWriter } from './fs-driver-writer.ts';
import { MemoryDriver } from './memory-driver.ts';
import type { StorageSpan, StorageWriter } from './storage-driver.ts';

describe('DriverBlobWriter when its driver fails or hides bytes', () => {
  test('a chunk a stalled client delivers after its write failed never enters the next write\'s hash', async () => {
    const root = await mkdtemp(join(tmpdir(), 'wharf-blob-writer-'));
    try {
      const store = new DriverBlobStore({ driver: new FailingWritevDriver({ root }) });
      const writer = await store.ingest('stale');
      const client = stallingSource(Buffer.from('AAAA'));
      await assert.rejects(writer.write(client.source), /EIO/);
      assert.equal(writer.offset, 0);
      // The failure was answered; only now do the stalled client's next bytes arrive.
      client.deliver(Buffer.from('BBBB'));
      await new Promise((resolve) => setTimeout(resolve, 20));
      await writer.write(Readable.from([Buffer.from('CCCC')]));
      assert.equal(await readFile(join(root, 'ingest', 'stale', 'data'), 'utf8'), 'CCCC');
      assert.equal(await writer.digest(), digestOf('CCCC'), 'the hash describes the bytes stored');
      await writer.commit({ digest: digestOf('CCCC'), size: 4 });
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  test('a sha512 digest is taken after a reopen, where a closed writer\'s bytes become readable (as on s3)', async () => {
    const store = new DriverBlobStore({ driver: new ReadableAfterReopenDriver() });
    const data = pattern(3, 5000);
    const digest = digestOf(data, 'sha512');
    const writer = await store.ingest('sha512');
    await writer.write(chunked(data, 1000));
    assert.equal(await writer.digest('sha512'), digest);
    assert.deepEqual(await writer.commit({ digest, size: data.byteLength }), { digest, size: data.byteLength });
  });

  test('a sha512 digest whose close fails releases the ingest', async () => {
    const store = new DriverBlobStore({ driver: new CloseFailsOnceDriver() });
    const writer = await store.ingest('held');
    await writer.write(Readable.from([Buffer.from('hello')]));
    await assert.rejects(writer.commit({ digest: digestOf('hello', 'sha512') }), /saving its tail/);
    await writer.close();
    const again = await store.ingest('held');
    assert.equal(again.offset, 5, 'the bytes stay and the ingest opens again');
    await again.cancel();
  });
});

/** An FsDriver whose first writer's first writev fails with EIO (a disk error), through the writer's test seam. */
class FailingWritevDriver extends FsDriver {
  #failed = false;

  override async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    return FsDriverWriter.open({ path, file: join(this.root, path), append: options.append, root: this.root, wrapHandle: (fh) => this.#failFirstWritev(fh) });
  }

  #failFirstWritev(fh: FileHandle): FileHandle {
    return new Proxy(fh, {
      get: (target, name) => {
        if (name === 'writev' && !this.#failed) {
          return async () => {
            this.#failed = true;
            throw Object.assign(new Error('EIO: i/o error, writev'), { code: 'EIO' });
          };
        }
        const value: unknown = Reflect.get(target, name, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }
}

/** A client body that sends `first`, then stalls until `deliver` hands it its next chunk. */
function stallingSource(first: Buffer): { source: AsyncIterable<Uint8Array>; deliver(chunk: Buffer): void } {
  let deliver: (chunk: Buffer) => void = () => {};
  let sent = false;
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async (): Promise<IteratorResult<Uint8Array>> => {
        if (!sent) {
          sent = true;
          return { done: false, value: first };
        }
        return new Promise((resolve) => (deliver = (chunk) => resolve({ done: false, value: chunk })));
      },
      return: async () => ({ done: true, value: undefined }),
    }),
  };
  return { source, deliver: (chunk) => deliver(chunk) };
}

/** S3's visibility over memory: the bytes of a closed writer are readable only once a writer opens the file again. */
class ReadableAfterReopenDriver extends MemoryDriver {
  #closed = new Set<string>();

  override async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    const writer = await super.writer(path, options);
    this.#closed.delete(path);
    const close = writer.close.bind(writer);
    writer.close = async () => {
      await close();
      this.#closed.add(path);
    };
    return writer;
  }

  override async reader(path: string, span?: StorageSpan): Promise<Readable> {
    if (this.#closed.has(path)) throw new Fault('unavailable', `${path} is being written elsewhere: its bytes are readable once a writer reopens it`);
    return super.reader(path, span);
  }
}

/** The first close of a writer fails after releasing it (s3: saving the tail object failed). */
class CloseFailsOnceDriver extends MemoryDriver {
  #failed = false;

  override async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    const writer = await super.writer(path, options);
    const close = writer.close.bind(writer);
    writer.close = async () => {
      await close();
      if (this.#failed) return;
      this.#failed = true;
      throw new Fault('unavailable', `${path}: saving its tail failed`);
    };
    return writer;
  }
}
