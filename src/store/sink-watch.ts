import type { Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';

/** What a copy into a sink fails with when the sink closes before the copy is done (the client went away). */
export const sinkClosed = (): Fault => new Fault('unavailable', 'the sink closed before the copy finished');

/**
 * Calls `fail` when the sink errors or closes, or the signal aborts; returns the remover of its listeners (and of
 * `onDrain` from 'drain', where the caller waits on it). A sink already destroyed is the caller's to check.
 */
export function watchSink(sink: Writable, fail: (err: unknown) => void, options: { signal?: AbortSignal; onDrain?: () => void } = {}): () => void {
  const { signal, onDrain } = options;
  const onError = (err: Error) => fail(err);
  const onClose = () => fail(sinkClosed());
  const onAbort = () => fail(signal?.reason);
  sink.once('error', onError);
  sink.once('close', onClose);
  signal?.addEventListener('abort', onAbort, { once: true });
  return () => {
    sink.off('error', onError);
    sink.off('close', onClose);
    if (onDrain) sink.off('drain', onDrain);
    signal?.removeEventListener('abort', onAbort);
  };
}
