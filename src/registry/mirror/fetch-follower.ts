import { addAbortSignal, Readable } from 'node:stream';
import { isFault } from '../../base/fault.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { BlobFetch } from './blob-fetch.ts';

export interface FetchFollowerOptions {
  fetch: BlobFetch;
  blobs: BlobStore;
  /** The client's bytes: [start, end), end exclusive. */
  start: number;
  end: number;
}

/**
 * One client's bytes of a blob being fetched: read from the ingest up to what the writer holds, then waiting
 * for more, and from the committed blob once the fetch committed (a store without `readIngest`, s3, waits for
 * that from the start). The last byte waits for the commit, whose digest check then covers every byte sent:
 * when the fetch fails instead, the stream is destroyed and the client sees a transfer broken short of the
 * length it was announced. Nothing is buffered beyond the chunk in hand and the stream's own highWaterMark.
 */
export class FetchFollower extends Readable {
  #fetch: BlobFetch;
  #blobs: BlobStore;
  #position: number;
  #end: number;
  #abort = new AbortController();
  #demand: (() => void) | undefined;
  #running = false;

  constructor(options: FetchFollowerOptions) {
    super();
    this.#fetch = options.fetch;
    this.#blobs = options.blobs;
    this.#position = options.start;
    this.#end = options.end;
    options.fetch.attach(this);
  }

  override _read(): void {
    const wake = this.#demand;
    this.#demand = undefined;
    wake?.();
    if (this.#running) return;
    this.#running = true;
    this.#run().then(
      () => this.push(null),
      (err: unknown) => this.destroy(err as Error),
    );
  }

  /** A client that goes away stops its own reads only: the fetch goes on and the cache still fills. */
  override _destroy(err: Error | null, callback: (err?: Error | null) => void): void {
    this.#abort.abort(err ?? new Error('the follower was closed'));
    this.#demand?.();
    callback(err);
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    while (this.#position < this.#end) {
      signal.throwIfAborted();
      const part = await this.#nextPart();
      if (!part) {
        await this.#fetch.progress(signal);
        continue;
      }
      for await (const chunk of addAbortSignal(signal, part)) {
        this.#position += (chunk as Uint8Array).byteLength;
        if (!this.push(chunk)) await this.#demanded();
      }
    }
    // The last byte waited for the commit; an empty span has none, so it waits here (a no-op otherwise).
    while (this.#fetch.state !== 'committed') {
      if (this.#fetch.state === 'failed') throw this.#fetch.error;
      signal.throwIfAborted();
      await this.#fetch.progress(signal);
    }
  }

  /** The next bytes there are to read; undefined when they are still to come. */
  async #nextPart(): Promise<Readable | undefined> {
    const fetch = this.#fetch;
    if (fetch.state === 'failed') throw fetch.error;
    if (fetch.state === 'committed') return this.#blobs.read(fetch.digest.value, { start: this.#position, end: this.#end - 1 });
    const upTo = Math.min(fetch.readable, this.#end - 1);
    if (!this.#blobs.readIngest || upTo <= this.#position) return undefined;
    try {
      return await this.#blobs.readIngest(fetch.ref, { offset: this.#position, length: upTo - this.#position });
    } catch (err) {
      // Gone as the fetch committed (moved into place) or failed: its state says which at the next look.
      if (isFault(err, 'not-found')) return undefined;
      throw err;
    }
  }

  /** Until the consumer wants more, or the stream is destroyed. */
  #demanded(): Promise<void> {
    return new Promise((resolve) => {
      if (this.#abort.signal.aborted) resolve();
      else this.#demand = resolve;
    });
  }
}
