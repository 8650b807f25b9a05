import { type FileHandle, open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import type { StorageSpan } from './storage-driver.ts';

// Two reused 1 MiB buffers: one is read into while the other is on its way to the socket. Measured on a 1 GiB
// blob GET (docs/benchmarks.md, "Blob pull"): about twice the throughput of a 4 MiB-chunk read stream, which
// allocates a new external buffer per read and keeps the garbage collector busy freeing them.
const bufferBytes = 1024 * 1024;
const bufferCount = 2;

/**
 * Writes a file's span into `sink` (an HTTP response) from a few reused buffers, each reused only after the
 * sink's write callback for it, waiting for 'drain' when the sink asks. The file is opened before anything
 * else is awaited and read through that handle only, so a delete after the call cannot cut the copy short.
 * Does not end the sink. Resolves with the bytes written once every write's callback has fired; rejects (the
 * file closed) when the file or the sink fails, the sink closes early (the client went away), or `signal`
 * aborts. A missing file is Fault not-found; a span starting past the end is Fault out-of-range.
 */
export async function copyFileTo(path: string, sink: Writable, options: { span?: StorageSpan; signal?: AbortSignal } = {}): Promise<number> {
  options.signal?.throwIfAborted();
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw (err as NodeJS.ErrnoException).code === 'ENOENT' ? new Fault('not-found', `${path} does not exist`, { cause: err }) : err;
  });
  try {
    const { size } = await fh.stat();
    const { start, length } = spanOf(path, size, options.span);
    if (length === 0) return 0;
    const watch = watchSink(sink, options.signal);
    try {
      return await copyHandle(fh, sink, { start, length }, watch.failed);
    } finally {
      watch.dispose();
    }
  } finally {
    await fh.close();
  }
}

function spanOf(path: string, size: number, span: StorageSpan | undefined): { start: number; length: number } {
  const start = span?.start ?? 0;
  const end = Math.min(span?.end ?? size - 1, size - 1);
  if (!Number.isSafeInteger(start) || start < 0 || start > size || (span?.end !== undefined && span.end < start)) {
    throw new Fault('out-of-range', `span ${start}-${span?.end ?? ''} is outside ${path} (size ${size})`, { detail: { size } });
  }
  return { start, length: Math.max(end - start + 1, 0) };
}

/** A buffer and the promise of its last write's callback: it is free again once that settles. */
interface Slot {
  buffer: Buffer;
  free: Promise<void>;
}

/**
 * The copy loop: the next read runs while the previous chunk is written; a write waits for 'drain' after the
 * sink said it was full. Every wait races `failed`, so a dead sink or an abort ends the loop at once.
 */
async function copyHandle(fh: FileHandle, sink: Writable, span: { start: number; length: number }, failed: Promise<never>): Promise<number> {
  const chunkBytes = Math.min(bufferBytes, span.length);
  const slots: Slot[] = Array.from({ length: Math.min(bufferCount, Math.ceil(span.length / chunkBytes)) }, () => ({
    buffer: Buffer.allocUnsafe(chunkBytes),
    free: Promise.resolve(),
  }));
  const end = span.start + span.length;
  let position = span.start;
  let turn = 0;
  let reading = readChunk(fh, slots[0].buffer, position, end);
  let needDrain = false;
  while (position < end) {
    const chunk = await Promise.race([reading, failed]);
    position += chunk.length;
    const slot = slots[turn % slots.length];
    if (position < end) {
      const next = slots[++turn % slots.length];
      reading = Promise.race([next.free, failed]).then(() => readChunk(fh, next.buffer, position, end));
      reading.catch(() => {});
    }
    if (needDrain) await Promise.race([onceDrained(sink), failed]);
    slot.free = new Promise<void>((resolve, reject) => {
      needDrain = !sink.write(chunk, (err) => (err ? reject(err) : resolve()));
    });
    slot.free.catch(() => {});
  }
  await Promise.race([Promise.all(slots.map((slot) => slot.free)), failed]);
  return span.length;
}

async function readChunk(fh: FileHandle, buffer: Buffer, position: number, end: number): Promise<Buffer> {
  const want = Math.min(buffer.length, end - position);
  const { bytesRead } = await fh.read(buffer, 0, want, position);
  if (bytesRead === 0) throw new Fault('internal', `file ended at ${position}, ${end - position} bytes before the span's end`);
  return buffer.subarray(0, bytesRead);
}

function onceDrained(sink: Writable): Promise<void> {
  if (!sink.writableNeedDrain) return Promise.resolve();
  return new Promise((resolve) => sink.once('drain', resolve));
}

/** A promise that rejects when the sink errors or closes, or the signal aborts; dispose() removes the listeners. */
function watchSink(sink: Writable, signal: AbortSignal | undefined): { failed: Promise<never>; dispose(): void } {
  let dispose = () => {};
  const failed = new Promise<never>((_resolve, reject) => {
    const onError = (err: Error) => reject(err);
    const onClose = () => reject(new Fault('unavailable', 'the sink closed before the copy finished'));
    const onAbort = () => reject(signal?.reason);
    sink.once('error', onError);
    sink.once('close', onClose);
    signal?.addEventListener('abort', onAbort, { once: true });
    dispose = () => {
      sink.off('error', onError);
      sink.off('close', onClose);
      signal?.removeEventListener('abort', onAbort);
    };
    if (sink.destroyed) onClose();
    if (signal?.aborted) onAbort();
  });
  failed.catch(() => {});
  return { failed, dispose };
}
