import type { Readable } from 'node:stream';
import { Fault, isFault } from '../base/fault.ts';
import { Digester, parseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import { AbortableSource } from './abortable-source.ts';
import type { BlobInfo, BlobWriter } from './blob-store.ts';
import { blobPath, ingestDataPath, ingestDir } from './blob-paths.ts';
import type { StorageDriver, StorageWriter } from './storage-driver.ts';
import { checkLimit, writeLimitExceeded } from './write-limit.ts';

export interface DriverBlobWriterOptions {
  ref: string;
  driver: StorageDriver;
  /** Called exactly once when the writer is released (commit, close, cancel); gives the ingest lock back. */
  onRelease: () => Promise<void>;
}

/**
 * One open ingest over a driver writer at ingest/<ref>/data. The digester always describes exactly the bytes
 * the driver acknowledged (its writer's `size`): chunks a write handed to the driver wait in that write's own
 * list until its size passes them, so an aborted or failed write leaves a resumable ingest with a correct hash.
 */
export class DriverBlobWriter implements BlobWriter {
  readonly ref: string;
  #driver: StorageDriver;
  #path: string;
  #onRelease: () => Promise<void>;
  #file: StorageWriter | undefined;
  #digester = new Digester('sha256');
  #hashed = 0;
  #writing: Promise<unknown> | undefined;
  #committing = false;
  #abort = new AbortController();
  #released = false;

  private constructor(options: DriverBlobWriterOptions) {
    this.ref = options.ref;
    this.#driver = options.driver;
    this.#path = ingestDataPath(options.ref);
    this.#onRelease = options.onRelease;
  }

  /**
   * Opens or resumes the ingest. node:crypto cannot export a hash's state, so bytes kept from an earlier
   * writer (also another process's or replica's) are re-hashed once, through the driver (docs/architecture.md).
   */
  static async open(options: DriverBlobWriterOptions): Promise<DriverBlobWriter> {
    const writer = new DriverBlobWriter(options);
    try {
      writer.#file = await options.driver.writer(writer.#path, { append: true });
      // Hashed after the open: a driver that cannot append in place (s3) makes the bytes an interrupted writer
      // left readable only when the file is opened again.
      await writer.#rehash(writer.#file.size);
    } catch (err) {
      await writer.#file?.close().catch(() => {});
      await writer.#release();
      throw err;
    }
    return writer;
  }

  /** What the driver holds; the hash catches up with it as the driver pulls more, and when a write ends. */
  get offset(): number {
    return this.#file ? this.#file.size : this.#hashed;
  }

  async write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal; limit?: number } = {}): Promise<number> {
    const file = this.#handle();
    if (this.#writing || this.#committing) throw new Fault('conflict', `ingest ${this.ref}: a write or commit is already in progress`);
    const limit = checkLimit(options.limit);
    // Ends this write's feed when the write is over: a driver that failed stops pulling, but a source that was
    // stalled could still deliver a chunk to the feed, and that chunk must not reach the next write.
    const ended = new AbortController();
    const stop = AbortSignal.any([this.#abort.signal, ended.signal, ...(options.signal ? [options.signal] : [])]);
    const unhashed: Uint8Array[] = [];
    let exceeded = false;
    const feed = this.#feed({ file, source, limit, unhashed, signal: stop, onExceeded: () => (exceeded = true) });
    // Set before the first await: a second write started in the same tick sees it.
    const run = file.write(feed, { signal: stop });
    this.#writing = run;
    try {
      await run;
    } finally {
      ended.abort(new Fault('unavailable', `ingest ${this.ref}: the write is over`));
      this.#catchUp(file.size, unhashed);
      this.#writing = undefined;
    }
    if (exceeded) throw writeLimitExceeded(this.ref, limit);
    return this.#hashed;
  }

  /**
   * The source as the driver pulls it: cut at the limit, and each pull hashes what the driver has written.
   * Chunks handed over wait in `unhashed`, which belongs to this write only.
   */
  async *#feed(feed: {
    file: StorageWriter;
    source: AsyncIterable<Uint8Array> | Readable;
    limit: number;
    unhashed: Uint8Array[];
    signal: AbortSignal;
    onExceeded: () => void;
  }): AsyncGenerator<Uint8Array> {
    const { file, unhashed } = feed;
    const input = new AbortableSource(feed.source, feed.signal);
    let budget = feed.limit;
    try {
      for (let chunk = await input.next(); chunk !== undefined; chunk = await input.next()) {
        // A chunk that arrived as the write ended belongs to no write.
        feed.signal.throwIfAborted();
        // Hashing here overlaps the driver's write of the previous batch (fs: a writev on the thread pool).
        this.#catchUp(file.size, unhashed);
        const allowed = chunk.byteLength > budget ? chunk.subarray(0, budget) : chunk;
        budget -= allowed.byteLength;
        if (allowed.byteLength > 0) {
          unhashed.push(allowed);
          yield allowed;
        }
        if (allowed !== chunk) {
          feed.onExceeded();
          input.stop();
          return;
        }
      }
    } catch (err) {
      input.stop();
      throw err;
    }
  }

  /** Hashes the handed-over chunks up to `size`, the bytes the driver says it holds. */
  #catchUp(size: number, unhashed: Uint8Array[]): void {
    while (this.#hashed < size) {
      const chunk = unhashed.shift();
      if (!chunk) throw new Fault('internal', `ingest ${this.ref}: the driver reports ${size} bytes, ${this.#hashed} were handed to it`);
      const take = Math.min(chunk.byteLength, size - this.#hashed);
      this.#digester.update(take === chunk.byteLength ? chunk : chunk.subarray(0, take));
      if (take < chunk.byteLength) unhashed.unshift(chunk.subarray(take));
      this.#hashed += take;
    }
  }

  async digest(algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    this.#handle();
    await this.#idle();
    if (algorithm === 'sha256') return this.#digester.digest();
    // Rare (sha512 pushes): hashed through the driver, after a close and reopen as in open(), since a driver that
    // cannot append in place (s3) shows a writer's bytes only once the file is opened again.
    await this.#reopen();
    const digester = new Digester(algorithm);
    if (this.#hashed > 0) await hashInto(this.#driver, this.#path, 0, this.#hashed, digester);
    return digester.digest();
  }

  /** A failure releases the ingest: its lock may be shared by every replica, and no writer is left to release it. */
  async #reopen(): Promise<void> {
    const file = this.#handle();
    this.#file = undefined;
    try {
      await file.close();
      this.#file = await this.#driver.writer(this.#path, { append: true });
    } catch (err) {
      await this.#release();
      throw err;
    }
  }

  async commit(expected: { digest: string; size?: number }): Promise<BlobInfo> {
    const want = parseDigest(expected.digest);
    this.#handle();
    if (this.#writing || this.#committing) throw new Fault('conflict', `ingest ${this.ref}: cannot commit while a write or commit is in progress`);
    this.#committing = true;
    try {
      await this.#verify(want, expected.size);
    } catch (err) {
      this.#committing = false;
      if (isFault(err, 'invalid-argument')) await this.cancel();
      throw err;
    }
    try {
      await this.#publish(this.#handle(), want);
    } finally {
      this.#file = undefined;
      await this.#release();
    }
    return { digest: want.value, size: this.#hashed };
  }

  async #verify(want: Digest, size: number | undefined): Promise<void> {
    if (size !== undefined && size !== this.#hashed) {
      throw new Fault('invalid-argument', `ingest ${this.ref}: size ${this.#hashed} does not match expected ${size}`, {
        code: 'SIZE_INVALID',
        detail: { expected: size, actual: this.#hashed },
      });
    }
    const actual = await this.digest(want.algorithm);
    if (actual !== want.value) {
      throw new Fault('invalid-argument', `ingest ${this.ref}: content digest ${actual} does not match ${want.value}`, {
        code: 'DIGEST_INVALID',
        detail: { expected: want.value, actual },
      });
    }
  }

  /**
   * An existing blob is touched, not replaced: a collection running now then keeps it (or, had it already set
   * the file aside, the touch misses and this ingest publishes it again). Otherwise the driver makes the bytes
   * durable and moves them into place atomically (fs: rename), so blobs/ never shows a partial file.
   */
  async #publish(file: StorageWriter, digest: Digest): Promise<void> {
    const target = blobPath(digest);
    if (await this.#driver.touch(target)) {
      await file.cancel();
    } else {
      await file.commit();
      await this.#driver.move(this.#path, target);
    }
    await this.#driver.delete(ingestDir(this.ref));
  }

  async close(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    await this.#stopWriting();
    this.#file = undefined;
    try {
      await file.close();
    } finally {
      await this.#release();
    }
  }

  async cancel(): Promise<void> {
    const file = this.#file;
    if (!file) return;
    await this.#stopWriting();
    this.#file = undefined;
    try {
      await file.cancel();
      await this.#driver.delete(ingestDir(this.ref));
    } finally {
      await this.#release();
    }
  }

  async #stopWriting(): Promise<void> {
    if (!this.#writing) return;
    this.#abort.abort(new Fault('conflict', `ingest ${this.ref} was closed during a write`));
    await this.#idle();
  }

  async #idle(): Promise<void> {
    await this.#writing?.catch(() => {});
  }

  async #hashStored(size: number): Promise<void> {
    await hashInto(this.#driver, this.#path, 0, size, this.#digester);
    this.#hashed = size;
  }

  /** Starts the hash over on what the driver holds now. */
  async #rehash(size: number): Promise<void> {
    this.#digester = new Digester('sha256');
    this.#hashed = 0;
    if (size > 0) await this.#hashStored(size);
  }

  #handle(): StorageWriter {
    if (!this.#file) throw new Fault('failed-precondition', `ingest ${this.ref} is no longer open`);
    return this.#file;
  }

  async #release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.#onRelease();
  }
}

/** Feeds bytes [start, end) of a driver file to `digester`. */
async function hashInto(driver: StorageDriver, path: string, start: number, end: number, digester: Digester): Promise<void> {
  for await (const chunk of await driver.reader(path, { start, end: end - 1 })) digester.update(chunk as Uint8Array);
}
