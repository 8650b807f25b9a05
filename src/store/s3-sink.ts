import type { Readable, Writable } from 'node:stream';
import { sinkClosed, watchSink } from './sink-watch.ts';

/**
 * Writes an S3 body into `sink` (an HTTP response) without ending it, waiting for 'drain' when the sink is
 * full. Resolves with the bytes handed over once the last write's callback fired; rejects when the body or the
 * sink fails, the sink closes first, or `signal` aborts (the body is destroyed then, which releases the
 * connection to S3). Each wait listens only while it lasts: nothing accumulates per chunk.
 */
export async function copyToSink(body: Readable, sink: Writable, signal?: AbortSignal): Promise<number> {
  let written = 0;
  // A failed write reports through its callback; this keeps the sink's 'error' event from going unheard between waits.
  const heard = () => {};
  sink.on('error', heard);
  try {
    if (signal?.aborted) throw signal.reason;
    if (sink.destroyed || sink.writableEnded) throw sinkClosed();
    let last: Promise<void> = Promise.resolve();
    for await (const chunk of body) {
      if (sink.destroyed) throw sink.errored ?? sinkClosed();
      const bytes = chunk as Buffer;
      written += bytes.byteLength;
      last = new Promise<void>((resolve, reject) => sink.write(bytes, (err) => (err ? reject(err) : resolve())));
      last.catch(() => {});
      if (sink.writableNeedDrain) await guarded(sink, signal, new Promise<void>((resolve) => sink.once('drain', resolve)));
    }
    await guarded(sink, signal, last);
    return written;
  } catch (err) {
    body.destroy();
    throw err;
  } finally {
    sink.off('error', heard);
  }
}

/** `wait`, or a rejection when the sink fails or closes or `signal` aborts first; listeners removed either way. */
async function guarded(sink: Writable, signal: AbortSignal | undefined, wait: Promise<void>): Promise<void> {
  let cleanup = () => {};
  const stopped = new Promise<never>((_, reject) => {
    cleanup = watchSink(sink, reject, { signal });
    if (signal?.aborted) reject(signal.reason);
  });
  try {
    await Promise.race([wait, stopped]);
  } finally {
    cleanup();
  }
}
