import { constants } from 'node:fs';
import { chmod, mkdir, open, rm, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { once } from 'node:events';
import { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { Fault } from '../base/fault.ts';
import { asStorageFull } from '../base/storage-full.ts';
import { AbortableSource } from './abortable-source.ts';
import type { StorageWriter } from './storage-driver.ts';

// The sink gathers what arrives while a write is in flight and hands it to one writev. 1 MiB, not more: the
// chunks it holds live until their write returns, and once they outlive two scavenges they are promoted and only
// a mark-compact frees them, which their external memory then forces every few MiB. A 1 GiB push measured 57
// mark-compacts and 230-250 MB/s at 4 MiB, 3 and 310-420 MB/s at 1 MiB (docs/benchmarks.md, registry,
// "the push's mark-compacts").
const sinkHighWaterMark = 1024 * 1024;

// A 1 GiB push fits under the kernel's dirty-page threshold, so without this nothing reaches the disk until the
// commit's fsync, which then waits for all of it. Flushing in the background every 32 MiB lets the disk work
// while the bytes arrive; the commit flushes only the tail (docs/benchmarks.md, "Pushes").
const backgroundSyncBytes = 32 * 1024 * 1024;

export interface FsDriverWriterOptions {
  /** The driver path (named in errors and `path`). */
  path: string;
  /** Where it is on disk. */
  file: string;
  append: boolean;
  /** The data root, named by a storage-full fault. */
  root: string;
  /** Test seam: wraps the opened file handle (to count or fail its syncs). */
  wrapHandle?: (fh: FileHandle) => FileHandle;
}

/**
 * A file written at explicit offsets in place. `size` advances only after a writev returns, by what the
 * kernel accepted, so it always describes the bytes in the file: an aborted or failed write stays resumable.
 */
export class FsDriverWriter implements StorageWriter {
  readonly path: string;
  #file: string;
  #root: string;
  #fh: FileHandle | undefined;
  #size = 0;
  #writing: Promise<unknown> | undefined;
  #inflight: Promise<void> = Promise.resolve();
  #abort = new AbortController();
  #committing = false;
  /** The size the last background datasync started at. */
  #syncedAt = 0;
  /** At most one background datasync; it never rejects (its error waits in #syncError). */
  #syncing: Promise<void> | undefined;
  /** Linux reports a writeback error once per file description: the commit's own fsync would not see it again. */
  #syncError: unknown;

  private constructor(options: FsDriverWriterOptions) {
    this.path = options.path;
    this.#file = options.file;
    this.#root = options.root;
  }

  static async open(options: FsDriverWriterOptions): Promise<FsDriverWriter> {
    const writer = new FsDriverWriter(options);
    try {
      await mkdir(dirname(options.file), { recursive: true });
      const fh = await openForWrite(options.file);
      writer.#fh = options.wrapHandle ? options.wrapHandle(fh) : fh;
      if (!options.append) await writer.#fh.truncate(0);
      writer.#size = (await writer.#fh.stat()).size;
      writer.#syncedAt = writer.#size;
    } catch (err) {
      await writer.#fh?.close();
      throw asStorageFull(err, options.root);
    }
    return writer;
  }

  get size(): number {
    return this.#size;
  }

  async write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal } = {}): Promise<number> {
    const fh = this.#handle();
    if (this.#writing || this.#committing) throw new Fault('conflict', `${this.path}: a write or commit is already in progress`);
    // Set before the first await: a second write started in the same tick sees it.
    const run = this.#pump(fh, source, options.signal);
    this.#writing = run;
    try {
      return await run;
    } catch (err) {
      throw asStorageFull(err, this.#root);
    } finally {
      this.#writing = undefined;
    }
  }

  async #pump(fh: FileHandle, source: AsyncIterable<Uint8Array> | Readable, signal?: AbortSignal): Promise<number> {
    // A failing sink (EIO, ENOSPC) must also interrupt a wait on the source.
    const sinkFailed = new AbortController();
    const stop = AbortSignal.any([this.#abort.signal, sinkFailed.signal, ...(signal ? [signal] : [])]);
    const input = new AbortableSource(source, stop);
    const sink = this.#sink(fh);
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
      // A destroyed sink may still have a writev in flight; the size settles only after it.
      await this.#inflight.catch(() => {});
    }
    return this.#size;
  }

  #sink(fh: FileHandle): Writable {
    const flush = (chunks: Uint8Array[], callback: (err?: Error | null) => void): void => {
      // The callback starts the next batch's writev on the thread pool while the caller handles this one.
      this.#inflight = this.#append(fh, chunks).then(() => callback(null), callback);
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

  /** Writes at the current size, advancing by exactly what the kernel accepted (short writes). */
  async #append(fh: FileHandle, chunks: Uint8Array[]): Promise<void> {
    let pending = chunks.filter((c) => c.byteLength > 0);
    while (pending.length > 0) {
      const { bytesWritten } = await fh.writev(pending, this.#size);
      if (bytesWritten === 0) throw new Fault('unavailable', `${this.path}: write made no progress`);
      this.#size += bytesWritten;
      pending = dropHead(pending, bytesWritten);
      this.#syncInBackground(fh);
    }
  }

  #syncInBackground(fh: FileHandle): void {
    if (this.#syncing || this.#size - this.#syncedAt < backgroundSyncBytes) return;
    this.#syncedAt = this.#size;
    this.#syncing = fh
      .datasync()
      .catch((err: unknown) => {
        this.#syncError ??= err;
      })
      .finally(() => {
        this.#syncing = undefined;
      });
  }

  /**
   * Crash safety: the bytes are on disk and the file read-only before a caller moves it into place. The commit
   * is the file's last write, however long ago its bytes came (a resumed upload): its mtime is now.
   */
  async commit(): Promise<void> {
    const fh = this.#handle();
    if (this.#writing || this.#committing) throw new Fault('conflict', `${this.path}: cannot commit while a write or commit is in progress`);
    this.#committing = true;
    this.#fh = undefined;
    try {
      await this.#syncing;
      if (this.#syncError !== undefined) throw this.#syncError;
      await fh.sync();
      await fh.chmod(0o444);
      const now = new Date();
      await fh.utimes(now, now);
    } catch (err) {
      throw asStorageFull(err, this.#root);
    } finally {
      this.#committing = false;
      await fh.close();
    }
  }

  /**
   * Rejects with a background sync's error, after releasing: the bytes kept may not be on disk, and no later
   * fsync would say so (the error was reported to this file description only).
   */
  async close(): Promise<void> {
    if (!this.#fh) return;
    await this.#release();
    if (this.#syncError !== undefined) throw asStorageFull(this.#syncError, this.#root);
  }

  async cancel(): Promise<void> {
    if (!this.#fh) return;
    await this.#release();
    await rm(this.#file, { force: true });
  }

  async #release(): Promise<void> {
    const fh = this.#handle();
    if (this.#writing) {
      this.#abort.abort(new Fault('conflict', `${this.path} was closed during a write`));
      await this.#writing.catch(() => {});
    }
    await this.#inflight.catch(() => {});
    await this.#syncing;
    this.#fh = undefined;
    await fh.close();
  }

  #handle(): FileHandle {
    if (!this.#fh) throw new Fault('failed-precondition', `${this.path} is no longer open for writing`);
    return this.#fh;
  }
}

/** The chunks after the first `count` bytes. */
function dropHead(chunks: Uint8Array[], count: number): Uint8Array[] {
  let left = count;
  const rest: Uint8Array[] = [];
  for (const chunk of chunks) {
    if (left >= chunk.byteLength) left -= chunk.byteLength;
    else {
      rest.push(left > 0 ? chunk.subarray(left) : chunk);
      left = 0;
    }
  }
  return rest;
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
