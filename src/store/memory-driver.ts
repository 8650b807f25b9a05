import { Readable, type Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { AbortableSource } from './abortable-source.ts';
import type { StorageDriver, StorageFileInfo, StorageSpan, StorageWriter } from './storage-driver.ts';

const readChunk = 64 * 1024;

/** One file: immutable chunks, appended to by a writer; a reader takes the list as it is when it opens. */
interface MemoryFile {
  chunks: Buffer[];
  size: number;
  modifiedAt: Date;
}

/**
 * A StorageDriver in memory, with the filesystem driver's semantics (writers append in place, every change is
 * atomic). For tests and throwaway instances: keep the files small.
 */
export class MemoryDriver implements StorageDriver {
  readonly name = 'memory';
  readonly readsOpenWrites = true;
  #files = new Map<string, MemoryFile>();

  async getContent(path: string, limit: number): Promise<Buffer> {
    const file = this.#get(path);
    if (file.size > limit) throw new Fault('invalid-argument', `${path} holds ${file.size} bytes, more than the ${limit} asked for`);
    return Buffer.concat(file.chunks, file.size);
  }

  async putContent(path: string, content: Uint8Array): Promise<void> {
    this.#files.set(path, { chunks: [Buffer.from(content)], size: content.byteLength, modifiedAt: new Date() });
  }

  async reader(path: string, span?: StorageSpan): Promise<Readable> {
    return Readable.from(slices(this.#get(path), span), { objectMode: false });
  }

  async copyTo(path: string, sink: Writable, options: { span?: StorageSpan; signal?: AbortSignal }): Promise<number> {
    const file = this.#get(path);
    options.signal?.throwIfAborted();
    let written = 0;
    for (const chunk of slices(file, options.span)) {
      await writeChunk(sink, chunk, options.signal);
      written += chunk.byteLength;
    }
    return written;
  }

  async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    let file = options.append ? this.#files.get(path) : undefined;
    if (!file) {
      file = { chunks: [], size: 0, modifiedAt: new Date() };
      this.#files.set(path, file);
    }
    return new MemoryWriter(path, file, () => {
      if (this.#files.get(path) === file) this.#files.delete(path);
    });
  }

  async stat(path: string): Promise<StorageFileInfo | undefined> {
    const file = this.#files.get(path);
    return file && { path, size: file.size, modifiedAt: file.modifiedAt };
  }

  async *list(prefix: string): AsyncIterable<StorageFileInfo> {
    const under = prefix === '' ? '' : `${prefix}/`;
    const paths = [...this.#files.keys()].filter((p) => p.startsWith(under)).sort();
    for (const path of paths) {
      const info = await this.stat(path);
      if (info) yield info;
    }
  }

  async move(from: string, to: string): Promise<void> {
    const file = this.#get(from);
    this.#files.delete(from);
    this.#files.set(to, file);
  }

  async delete(path: string): Promise<void> {
    this.#files.delete(path);
    for (const key of [...this.#files.keys()]) if (key.startsWith(`${path}/`)) this.#files.delete(key);
  }

  async touch(path: string): Promise<boolean> {
    const file = this.#files.get(path);
    if (file) file.modifiedAt = new Date();
    return file !== undefined;
  }

  /** Synchronous from check to delete: nothing interleaves, so no touch can race it. */
  async removeIfUnusedSince(path: string, cutoff: Date): Promise<boolean> {
    const file = this.#files.get(path);
    if (!file || file.modifiedAt >= cutoff) return false;
    this.#files.delete(path);
    return true;
  }

  async recoverRemovals(_prefix: string): Promise<number> {
    return 0;
  }

  #get(path: string): MemoryFile {
    const file = this.#files.get(path);
    if (!file) throw new Fault('not-found', `${path} does not exist`);
    return file;
  }
}

class MemoryWriter implements StorageWriter {
  readonly path: string;
  #file: MemoryFile | undefined;
  /** The file's size when the writer was released: `size` stays meaningful afterwards. */
  #sizeAtRelease = 0;
  #drop: () => void;
  #writing = false;
  #abort = new AbortController();

  constructor(path: string, file: MemoryFile, drop: () => void) {
    this.path = path;
    this.#file = file;
    this.#drop = drop;
  }

  get size(): number {
    return this.#file?.size ?? this.#sizeAtRelease;
  }

  async write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal } = {}): Promise<number> {
    const file = this.#open();
    if (this.#writing) throw new Fault('conflict', `${this.path}: a write is already in progress`);
    this.#writing = true;
    const input = new AbortableSource(source, AbortSignal.any([this.#abort.signal, ...(options.signal ? [options.signal] : [])]));
    try {
      for (let chunk = await input.next(); chunk !== undefined; chunk = await input.next()) {
        if (chunk.byteLength === 0) continue;
        file.chunks.push(Buffer.from(chunk));
        file.size += chunk.byteLength;
        file.modifiedAt = new Date();
      }
    } catch (err) {
      input.stop();
      throw err;
    } finally {
      this.#writing = false;
    }
    return file.size;
  }

  async commit(): Promise<void> {
    const file = this.#open();
    if (this.#writing) throw new Fault('conflict', `${this.path}: cannot commit while a write is in progress`);
    file.modifiedAt = new Date();
    this.#release(file);
  }

  async close(): Promise<void> {
    if (!this.#file) return;
    this.#abort.abort(new Fault('conflict', `${this.path} was closed during a write`));
    this.#release(this.#file);
  }

  async cancel(): Promise<void> {
    if (!this.#file) return;
    await this.close();
    this.#drop();
  }

  #release(file: MemoryFile): void {
    this.#sizeAtRelease = file.size;
    this.#file = undefined;
  }

  #open(): MemoryFile {
    if (!this.#file) throw new Fault('failed-precondition', `${this.path} is no longer open for writing`);
    return this.#file;
  }
}

/** The file's span in chunks of at most readChunk bytes, from the file as it is now (not when first read). */
function slices(file: MemoryFile, span: StorageSpan | undefined): Generator<Buffer> {
  const chunks = [...file.chunks];
  const start = span?.start ?? 0;
  const end = Math.min(span?.end ?? file.size - 1, file.size - 1);
  return (function* () {
    let at = 0;
    for (const chunk of chunks) {
      if (at > end) return;
      const from = Math.max(start - at, 0);
      const to = Math.min(end - at + 1, chunk.byteLength);
      for (let i = from; i < to; i += readChunk) yield chunk.subarray(i, Math.min(i + readChunk, to));
      at += chunk.byteLength;
    }
  })();
}

/** One write, resolved by its callback; rejects when the sink fails or closes first, or `signal` aborts. */
function writeChunk(sink: Writable, chunk: Buffer, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = (err?: unknown) => {
      sink.off('error', done);
      sink.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
      if (err) reject(err);
      else resolve();
    };
    const onClose = () => done(new Fault('unavailable', 'the sink closed before the copy finished'));
    const onAbort = () => done(signal?.reason);
    if (signal?.aborted) return onAbort();
    if (sink.destroyed || sink.writableEnded) return onClose();
    sink.once('error', done);
    sink.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    sink.write(chunk, (err) => done(err ?? undefined));
  });
}
