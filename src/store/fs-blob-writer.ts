import { constants, createReadStream } from 'node:fs';
import { chmod, mkdir, open, rename, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { once } from 'node:events';
import { Fault, isFault } from '../base/fault.ts';
import { asStorageFull } from '../base/storage-full.ts';
import { Digester, parseDigest, type Digest, type DigestAlgorithm } from '../oci/digest.ts';
import type { BlobInfo, BlobWriter } from './blob-store.ts';
import { AbortableSource } from './abortable-source.ts';
import type { FsLayout } from './fs-layout.ts';
import { checkLimit, writeLimitExceeded } from './write-limit.ts';
import { touchFile } from './fs-touch.ts';

// Large buffers keep a 1 GiB push at disk/hash speed: the sink gathers what arrives while a write is in
// flight and hands it to one writev.
const sinkHighWaterMark = 4 * 1024 * 1024;
const readHighWaterMark = 1024 * 1024;

export interface FsBlobWriterOptions {
  ref: string;
  layout: FsLayout;
  /** Called exactly once when the writer is released (commit, close, cancel). */
  onRelease: () => void;
}

/**
 * One open ingest: <root>/ingest/<ref>/data. The digester and offset always describe exactly the bytes on
 * disk (they advance only after a write returns), so an aborted or failed write leaves a resumable ingest.
 */
export class FsBlobWriter implements BlobWriter {
  readonly ref: string;
  #layout: FsLayout;
  #onRelease: () => void;
  #fh: FileHandle | undefined;
  #offset = 0;
  #digester = new Digester('sha256');
  #writing: Promise<unknown> | undefined;
  #inflight: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #released = false;
  #committing = false;

  private constructor(options: FsBlobWriterOptions) {
    this.ref = options.ref;
    this.#layout = options.layout;
    this.#onRelease = options.onRelease;
  }

  /** Opens or resumes the ingest; existing bytes (also from a killed process) are re-hashed once. */
  static async open(options: FsBlobWriterOptions): Promise<FsBlobWriter> {
    const writer = new FsBlobWriter(options);
    const path = options.layout.ingestData(options.ref);
    try {
      await mkdir(dirname(path), { recursive: true });
      writer.#fh = await openForWrite(path);
    } catch (err) {
      throw asStorageFull(err, options.layout.root);
    }
    try {
      const { size } = await writer.#fh.stat();
      if (size > 0) await hashFile(path, size, writer.#digester);
      writer.#offset = size;
    } catch (err) {
      await writer.#fh.close();
      throw err;
    }
    return writer;
  }

  get offset(): number {
    return this.#offset;
  }

  async write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal; limit?: number } = {}): Promise<number> {
    const fh = this.#handle();
    if (this.#writing || this.#committing) {
      throw new Fault('conflict', `ingest ${this.ref}: a write or commit is already in progress`);
    }
    const limit = checkLimit(options.limit);
    // Set before the first await: a second write started in the same tick sees it.
    const run = this.#pump(fh, source, limit, options.signal);
    this.#writing = run;
    try {
      return await run;
    } catch (err) {
      throw asStorageFull(err, this.#layout.root);
    } finally {
      this.#writing = undefined;
    }
  }

  async #pump(fh: FileHandle, source: AsyncIterable<Uint8Array> | Readable, limit: number, signal?: AbortSignal): Promise<number> {
    // A failing sink (limit, EIO) must also interrupt a wait on the source.
    const sinkFailed = new AbortController();
    const stop = AbortSignal.any([this.#abort.signal, sinkFailed.signal, ...(signal ? [signal] : [])]);
    const input = new AbortableSource(source, stop);
    const sink = this.#sink(fh, limit);
    sink.on('error', (err) => sinkFailed.abort(err));
    try {
      for (let chunk = await input.next(); chunk !== undefined; chunk = await input.next()) {
        if (!sink.write(chunk)) await once(sink, 'drain', { signal: stop });
      }
      sink.end();
      await finished(sink);
    } catch (err) {
      sink.destroy();
      input.stop();
      throw sinkFailed.signal.aborted ? sinkFailed.signal.reason : err;
    } finally {
      // A destroyed sink may still have a writev in flight; offset and digest settle only after it.
      await this.#inflight.catch(() => {});
    }
    return this.#offset;
  }

  #sink(fh: FileHandle, limit: number): Writable {
    let budget = limit;
    const flush = (chunks: Uint8Array[], callback: (err?: Error | null) => void): void => {
      const { allowed, exceeded } = takeWithin(chunks, budget);
      budget -= allowed.reduce((n, c) => n + c.byteLength, 0);
      this.#inflight = this.#append(fh, allowed).then(
        (written) => {
          // The callback starts the next batch's writev on the thread pool; hashing this batch meanwhile
          // overlaps disk and hash. Synchronous, so no one observes the offset ahead of the digest.
          callback(exceeded ? writeLimitExceeded(this.ref, limit) : null);
          for (const chunk of written) this.#digester.update(chunk);
        },
        (err: Error) => callback(err),
      );
    };
    return new Writable({
      highWaterMark: sinkHighWaterMark,
      write: (chunk: Uint8Array, _encoding, callback) => flush([chunk], callback),
      writev: (chunks, callback) => flush(chunks.map((c) => c.chunk as Uint8Array), callback),
      destroy: (err, callback) => {
        this.#inflight.then(
          () => callback(err),
          () => callback(err),
        );
      },
    });
  }

  /**
   * Writes at the current offset, advancing by exactly what the kernel accepted (short writes). Returns the
   * written bytes for the caller to hash; on a failure the part that did reach the file is hashed here.
   */
  async #append(fh: FileHandle, chunks: Uint8Array[]): Promise<Uint8Array[]> {
    const written: Uint8Array[] = [];
    let pending = chunks.filter((c) => c.byteLength > 0);
    try {
      while (pending.length > 0) {
        const { bytesWritten } = await fh.writev(pending, this.#offset);
        if (bytesWritten === 0) throw new Fault('unavailable', `ingest ${this.ref}: write made no progress`);
        this.#offset += bytesWritten;
        pending = splitAt(pending, bytesWritten, written);
      }
    } catch (err) {
      for (const chunk of written) this.#digester.update(chunk);
      throw err;
    }
    return written;
  }

  async digest(algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    this.#handle();
    await this.#idle();
    if (algorithm === 'sha256') return this.#digester.digest();
    const digester = new Digester(algorithm);
    await hashFile(this.#layout.ingestData(this.ref), this.#offset, digester);
    return digester.digest();
  }

  async commit(expected: { digest: string; size?: number }): Promise<BlobInfo> {
    const want = parseDigest(expected.digest);
    const fh = this.#handle();
    if (this.#writing || this.#committing) {
      throw new Fault('conflict', `ingest ${this.ref}: cannot commit while a write or commit is in progress`);
    }
    this.#committing = true;
    try {
      await this.#verify(want.value, want.algorithm, expected.size);
    } catch (err) {
      this.#committing = false;
      if (isFault(err, 'invalid-argument')) await this.cancel();
      throw err;
    }
    try {
      await this.#publish(fh, want);
    } catch (err) {
      throw asStorageFull(err, this.#layout.root);
    } finally {
      if (this.#fh) await this.#fh.close().catch(() => {});
      this.#release();
    }
    return { digest: want.value, size: this.#offset };
  }

  async #verify(digest: string, algorithm: DigestAlgorithm, size: number | undefined): Promise<void> {
    if (size !== undefined && size !== this.#offset) {
      throw new Fault('invalid-argument', `ingest ${this.ref}: size ${this.#offset} does not match expected ${size}`, {
        code: 'SIZE_INVALID',
        detail: { expected: size, actual: this.#offset },
      });
    }
    const actual = await this.digest(algorithm);
    if (actual !== digest) {
      throw new Fault('invalid-argument', `ingest ${this.ref}: content digest ${actual} does not match ${digest}`, {
        code: 'DIGEST_INVALID',
        detail: { expected: digest, actual },
      });
    }
  }

  /**
   * Crash safety: the bytes are fsynced and read-only before the rename makes them visible, and the rename is
   * atomic, so blobs/ never shows a partial file. Same-digest ingests racing here both publish identical bytes.
   */
  async #publish(fh: FileHandle, digest: Digest): Promise<void> {
    await fh.sync();
    await fh.chmod(0o444);
    // The commit is the blob's last use, however long ago its bytes were written (a resumed upload).
    const now = new Date();
    await fh.utimes(now, now);
    this.#fh = undefined;
    await fh.close();
    const target = this.#layout.blobPath(digest);
    // An existing blob is touched, not skipped: a collection running now then keeps it (or, had it already set
    // the file aside, the touch misses and this ingest publishes it again).
    if (!(await touchFile(target, now))) {
      const shard = dirname(target);
      const created = await mkdir(shard, { recursive: true });
      await rename(this.#layout.ingestData(this.ref), target);
      await syncDir(shard);
      // A shard directory made just now must itself be durable in its parents.
      if (created !== undefined) await syncParents(created, shard);
    }
    await rm(this.#layout.ingestDir(this.ref), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    if (!this.#fh) return;
    await this.#stopWriting();
    const fh = this.#fh;
    this.#fh = undefined;
    this.#release();
    await fh?.close();
  }

  async cancel(): Promise<void> {
    if (!this.#fh) return;
    await this.close();
    await rm(this.#layout.ingestDir(this.ref), { recursive: true, force: true });
  }

  async #stopWriting(): Promise<void> {
    if (!this.#writing) return;
    this.#abort.abort(new Fault('conflict', `ingest ${this.ref} was closed during a write`));
    await this.#idle();
  }

  async #idle(): Promise<void> {
    await this.#writing?.catch(() => {});
    await this.#inflight.catch(() => {});
  }

  #handle(): FileHandle {
    if (!this.#fh) throw new Fault('failed-precondition', `ingest ${this.ref} is no longer open`);
    return this.#fh;
  }

  #release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#onRelease();
  }
}

/** Moves the first `count` bytes of `chunks` to `done`; returns the rest. */
function splitAt(chunks: Uint8Array[], count: number, done: Uint8Array[]): Uint8Array[] {
  let left = count;
  const rest: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (left >= chunk.byteLength) {
      done.push(chunk);
      left -= chunk.byteLength;
    } else if (left > 0) {
      done.push(chunk.subarray(0, left));
      rest.push(chunk.subarray(left));
      left = 0;
    } else {
      rest.push(chunk);
    }
  }
  return rest;
}

/** Splits a batch at the remaining byte budget of a limited write. */
function takeWithin(chunks: Uint8Array[], budget: number): { allowed: Uint8Array[]; exceeded: boolean } {
  const allowed: Uint8Array[] = [];
  let left = budget;
  for (const chunk of chunks) {
    if (chunk.byteLength <= left) {
      allowed.push(chunk);
      left -= chunk.byteLength;
      continue;
    }
    if (left > 0) allowed.push(chunk.subarray(0, left));
    return { allowed, exceeded: true };
  }
  return { allowed, exceeded: false };
}

/** Opens without O_APPEND (we write at explicit offsets). A commit interrupted after chmod left it 0444. */
async function openForWrite(path: string): Promise<FileHandle> {
  const flags = constants.O_RDWR | constants.O_CREAT;
  try {
    return await open(path, flags, 0o644);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EACCES') throw err;
    await chmod(path, 0o644);
    return await open(path, flags, 0o644);
  }
}

async function hashFile(path: string, size: number, digester: Digester): Promise<void> {
  if (size === 0) return;
  const stream = createReadStream(path, { start: 0, end: size - 1, highWaterMark: readHighWaterMark });
  for await (const chunk of stream) digester.update(chunk as Buffer);
}

/** Fsyncs the parent of `first` and every directory below it down to the parent of `last`. */
async function syncParents(first: string, last: string): Promise<void> {
  for (let dir = dirname(last); ; dir = dirname(dir)) {
    await syncDir(dir);
    if (dir === dirname(first) || dir === dirname(dir)) return;
  }
}

/** Makes a rename durable: the new directory entry is on disk before the commit is answered. */
export async function syncDir(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}
