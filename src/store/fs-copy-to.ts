import { read } from 'node:fs';
import { open } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { sinkClosed, watchSink } from './sink-watch.ts';
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
    return await copyHandle(fh.fd, sink, { start, length }, options.signal);
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

/**
 * The copy loop, driven by callbacks rather than promises: a GiB is 1,024 turns, and a promise raced against a
 * long-lived "failed" promise per turn left a reaction on it each time, ~1 MiB promoted per GiB that ended in
 * a 100-300 ms mark-compact mid-pull (docs/benchmarks.md, "Blob pull"). One read runs at a time, into a free
 * buffer, while the filled ones are written in order; a buffer is free again only after its write's callback, and
 * after a write the sink called full the next waits for 'drain'. It settles only when no read is in flight, so
 * the caller can close the file.
 */
function copyHandle(fd: number, sink: Writable, span: { start: number; length: number }, signal: AbortSignal | undefined): Promise<number> {
  return new Promise((resolve, reject) => {
    const chunkBytes = Math.min(bufferBytes, span.length);
    const free: Buffer[] = Array.from({ length: Math.min(bufferCount, Math.ceil(span.length / chunkBytes)) }, () => Buffer.allocUnsafe(chunkBytes));
    const filled: { buffer: Buffer; bytes: number }[] = [];
    const end = span.start + span.length;
    let position = span.start;
    let reading = false;
    let writing = 0;
    let full = false;
    let failure: { err: unknown } | undefined;
    let settled = false;

    const settle = () => {
      if (settled || reading || (!failure && (position < end || filled.length > 0 || writing > 0))) return;
      settled = true;
      unwatch();
      if (failure) reject(failure.err);
      else resolve(span.length);
    };
    const fail = (err: unknown) => {
      failure ??= { err };
      settle();
    };
    const onRead = (buffer: Buffer) => (err: Error | null, bytesRead: number) => {
      reading = false;
      if (err) return fail(err);
      if (bytesRead === 0) return fail(new Fault('internal', `file ended at ${position}, ${end - position} bytes before the span's end`));
      position += bytesRead;
      filled.push({ buffer, bytes: bytesRead });
      pump();
    };
    const onWritten = (buffer: Buffer) => (err?: Error | null) => {
      writing--;
      if (err) return fail(err);
      free.push(buffer);
      pump();
    };
    const onDrain = () => {
      full = false;
      pump();
    };
    const pump = () => {
      if (failure) return settle();
      if (!reading && position < end && free.length > 0) {
        const buffer = free.pop() as Buffer;
        reading = true;
        read(fd, buffer, 0, Math.min(buffer.length, end - position), position, onRead(buffer));
      }
      while (!full && filled.length > 0) {
        const { buffer, bytes } = filled.shift() as { buffer: Buffer; bytes: number };
        writing++;
        full = !sink.write(bytes === buffer.length ? buffer : buffer.subarray(0, bytes), onWritten(buffer));
        if (full) sink.once('drain', onDrain);
      }
      settle();
    };
    const unwatch = watchSink(sink, fail, { signal, onDrain });
    if (sink.destroyed) fail(sinkClosed());
    else if (signal?.aborted) fail(signal.reason);
    else pump();
  });
}
