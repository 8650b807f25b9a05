import { Readable } from 'node:stream';

/**
 * Iterates a write's source so that an abort interrupts even a source that has stopped producing (a stalled
 * client). The caller owns a Readable source, e.g. an HTTP request it still has to answer: it is never destroyed.
 */
export class AbortableSource {
  #iterator: AsyncIterator<Uint8Array>;
  #signal: AbortSignal;

  constructor(source: AsyncIterable<Uint8Array> | Readable, signal: AbortSignal) {
    const iterable = source instanceof Readable ? source.iterator({ destroyOnReturn: false }) : source;
    this.#iterator = iterable[Symbol.asyncIterator]();
    this.#signal = signal;
  }

  /** The next chunk, undefined at the end; rejects with the signal's reason once it aborts. */
  next(): Promise<Uint8Array | undefined> {
    const signal = this.#signal;
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      this.#iterator.next().then(
        (result) => {
          signal.removeEventListener('abort', onAbort);
          resolve(result.done ? undefined : result.value);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  }

  /** Lets a generator source run its cleanup; not awaited, since a stalled source may never get there. */
  stop(): void {
    this.#iterator.return?.()?.catch(() => {});
  }
}
