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
 * One client's bytes of a blob being fetched: taken from the fetch's latest chunks in memory while the client
 * keeps up (the fetch keeps pace with its leading follower: `BlobFetch.reached`), read from the ingest up to what
 * the writer holds when it is further behind, then waiting for more, and from the committed blob once the fetch
 * committed (a store without `readIngest`, s3, waits for that from the start). The last byte waits for the
 * commit, whose digest check then covers every byte sent: when the fetch fails instead, the stream is destroyed
 * and the client sees a transfer broken short of the length it was announced. Nothing is buffered beyond the
 * chunk in hand and the stream's own highWaterMark.
 */
export class FetchFollower extends Readable {
  #fetch: BlobFetch;
  #blobs: BlobStore;
  #position: number;
  #end: number;
  #abort = new AbortController();
  #demand: (() => void) | undefined;
  #running = false;
  #paces: boolean;

  constructor(options: FetchFollowerOptions) {
    super();
    this.#fetch = options.fetch;
    this.#blobs = options.blobs;
    this.#position = options.start;
    this.#end = options.end;
    // The fetch keeps pace with a follower that takes its bytes from memory; not with a span of one byte (or none),
    // which wants only what waits for the commit, nor on a store without `readIngest`, whose followers wait for it.
    this.#paces = options.blobs.readIngest !== undefined && options.start < options.end - 1;
    options.fetch.attach(this, this.#paces ? options.start : undefined);
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
      if (await this.#pushRecent()) continue;
      const part = await this.#nextPart();
      if (!part) {
        // Bytes received but not yet in the ingest: the writer's acknowledgement is not announced, so look again.
        await this.#fetch.progress(signal, this.#position < this.#fetch.received);
        continue;
      }
      for await (const chunk of addAbortSignal(signal, part)) await this.#send(chunk as Uint8Array);
    }
    // The last byte waited for the commit; an empty span has none, so it waits here (a no-op otherwise).
    while (this.#fetch.state !== 'committed') {
      if (this.#fetch.state === 'failed') throw this.#fetch.error;
      signal.throwIfAborted();
      await this.#fetch.progress(signal);
    }
  }

  /**
   * Pushes the bytes from the current position that the fetch still holds in memory (not the last: it waits for
   * the commit); false when it holds none of them. A store without `readIngest` waits for the commit instead.
   */
  async #pushRecent(): Promise<boolean> {
    if (!this.#blobs.readIngest) return false;
    const chunk = this.#fetch.recent(this.#position, this.#end - 1);
    if (!chunk) return false;
    await this.#send(chunk);
    return true;
  }

  /** Pushes a chunk and tells the fetch how far this follower got; resolves when the consumer wants more. */
  async #send(chunk: Uint8Array): Promise<void> {
    this.#position += chunk.byteLength;
    const more = this.push(chunk);
    // Only the last byte is left then, which waits for the commit: the fetch must not wait for this follower.
    if (this.#paces) this.#fetch.reached(this, this.#position >= this.#end - 1 ? undefined : this.#position);
    if (!more) await this.#demanded();
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
