import { addAbortSignal, type Readable, type Writable } from 'node:stream';
import { Fault, isFault } from '../../base/fault.ts';
import type { Slab } from '../../base/slab-pool.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { sinkClosed, watchSink } from '../../store/sink-watch.ts';
import type { BlobFetch } from './blob-fetch.ts';

export interface FetchFollowerOptions {
  fetch: BlobFetch;
  blobs: BlobStore;
  /** The client's bytes: [start, end), end exclusive. */
  start: number;
  end: number;
}

/**
 * One client's bytes of a blob being fetched, written into its sink (the raw HTTP response): straight from the
 * fetch's slabs while the client keeps up (each slab held until the sink's write callback, so it is reused only
 * once the socket has the bytes; the fetch keeps pace with its leading follower: `BlobFetch.reached`), read from
 * the ingest up to what the writer holds when it is further behind, then waiting for more, and from the
 * committed blob once the fetch committed (a store without `readIngest`, s3, waits for that from the start).
 * The last byte waits for the commit, whose digest check then covers every byte sent: when the fetch fails
 * instead, the copy rejects with its error and the caller breaks the client's transfer short of the length it
 * was announced. Nothing is buffered beyond the writes the sink has not yet called back.
 */
export class FetchFollower {
  #fetch: BlobFetch;
  #blobs: BlobStore;
  #position: number;
  #end: number;
  #paces: boolean;
  #started = false;

  constructor(options: FetchFollowerOptions) {
    this.#fetch = options.fetch;
    this.#blobs = options.blobs;
    this.#position = options.start;
    this.#end = options.end;
    // The fetch keeps pace with a follower that takes its bytes from memory; not with a span of one byte (or none),
    // which wants only what waits for the commit, nor on a store without `readIngest`, whose followers wait for it.
    this.#paces = options.blobs.readIngest !== undefined && options.start < options.end - 1;
  }

  /**
   * Writes the span into `sink` (not ended); resolves with the bytes written once the sink called back for every
   * write. Rejects with the fetch's error, when the sink fails or closes early (the client went away), or when
   * `signal` aborts. Called once.
   */
  async copyTo(sink: Writable, signal?: AbortSignal): Promise<number> {
    if (this.#started) throw new Fault('internal', 'a fetch follower copies once');
    this.#started = true;
    const stop = new AbortController();
    const out = new SinkWrites(sink, (err) => stop.abort(err));
    const onAbort = () => stop.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    this.#fetch.attach(this, this.#paces ? this.#position : undefined, (err) => stop.abort(err));
    const start = this.#position;
    try {
      await this.#run(out, stop.signal);
      await out.settled(stop.signal);
      return this.#position - start;
    } catch (err) {
      // An ingest read that `stop` cut short rejects with an AbortError of its own: the client is told why it
      // stopped (the fetch's fault is a 503, where an AbortError would be a 500).
      throw stop.signal.aborted && (err as Error | undefined)?.name === 'AbortError' ? stop.signal.reason : err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      out.dispose();
      this.#fetch.detach(this);
    }
  }

  async #run(out: SinkWrites, signal: AbortSignal): Promise<void> {
    while (this.#position < this.#end) {
      signal.throwIfAborted();
      if (await this.#sendRecent(out, signal)) continue;
      if (this.#fetch.state === 'committed') return this.#sendCommitted(out, signal);
      const part = await this.#nextPart();
      if (!part) {
        // Bytes received but not yet in the ingest: the writer's acknowledgement is not announced, so look again.
        await this.#fetch.progress(signal, this.#position < this.#fetch.received);
        continue;
      }
      for await (const chunk of addAbortSignal(signal, part)) await this.#send(out, chunk as Uint8Array, undefined, signal);
    }
    // The last byte waited for the commit; an empty span has none, so it waits here (a no-op otherwise).
    while (this.#fetch.state !== 'committed') {
      if (this.#fetch.state === 'failed') throw this.#fetch.error;
      signal.throwIfAborted();
      await this.#fetch.progress(signal);
    }
  }

  /**
   * Sends the bytes from the current position that the fetch still holds in memory (not the last: it waits for
   * the commit); false when it holds none of them. A store without `readIngest` waits for the commit instead.
   */
  async #sendRecent(out: SinkWrites, signal: AbortSignal): Promise<boolean> {
    if (!this.#blobs.readIngest) return false;
    const recent = this.#fetch.recent(this.#position, this.#end - 1);
    if (!recent) return false;
    await this.#send(out, recent.bytes, recent.slab, signal);
    return true;
  }

  /** The rest from the committed blob: the store's own copy when it has one (reused buffers), else its stream. */
  async #sendCommitted(out: SinkWrites, signal: AbortSignal): Promise<void> {
    const range = { start: this.#position, end: this.#end - 1 };
    const digest = this.#fetch.digest.value;
    if (this.#blobs.copyTo) {
      await out.settled(signal);
      this.#position += await this.#blobs.copyTo(digest, out.sink, { range, signal });
      return;
    }
    const part = await this.#blobs.read(digest, range);
    for await (const chunk of addAbortSignal(signal, part)) await this.#send(out, chunk as Uint8Array, undefined, signal);
  }

  /** Writes a chunk (holding its slab until written) and tells the fetch how far this follower got. */
  async #send(out: SinkWrites, chunk: Uint8Array, slab: Slab | undefined, signal: AbortSignal): Promise<void> {
    this.#position += chunk.byteLength;
    const more = out.write(chunk, slab);
    // Only the last byte is left then, which waits for the commit: the fetch must not wait for this follower.
    if (this.#paces) this.#fetch.reached(this, this.#position >= this.#end - 1 ? undefined : this.#position);
    if (!more) await out.drained(signal);
  }

  /** The next bytes there are to read from the ingest; undefined when they are still to come. */
  async #nextPart(): Promise<Readable | undefined> {
    const fetch = this.#fetch;
    if (fetch.state === 'failed') throw fetch.error;
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
}

/**
 * Writes into a sink with its callbacks: a slab written from is released in the write's callback, once the sink
 * has the bytes. The sink failing or closing before it was ended calls `fail`.
 */
class SinkWrites {
  readonly sink: Writable;
  #pending = 0;
  #idle: (() => void) | undefined;
  #drain: (() => void) | undefined;
  #unwatch: () => void;

  constructor(sink: Writable, fail: (err: unknown) => void) {
    this.sink = sink;
    const onFailure = (err: unknown) => {
      fail(err);
      this.#drain?.();
    };
    this.#unwatch = watchSink(sink, onFailure);
    if (sink.destroyed) onFailure(sinkClosed());
  }

  /**
   * False when the sink asks the writer to wait for 'drain'. A response whose socket was destroyed may never call
   * back a write it still took (node:http drops it): its slab is then never reused, only garbage collected.
   */
  write(chunk: Uint8Array, slab: Slab | undefined): boolean {
    slab?.retain();
    this.#pending++;
    return this.sink.write(chunk, () => {
      slab?.release();
      if (--this.#pending === 0) this.#idle?.();
    });
  }

  drained(signal: AbortSignal): Promise<void> {
    return this.#wait(signal, (done) => {
      this.#drain = done;
      this.sink.once('drain', done);
      return () => {
        this.#drain = undefined;
        this.sink.off('drain', done);
      };
    });
  }

  /** Until the sink called back for every write. */
  settled(signal: AbortSignal): Promise<void> {
    if (this.#pending === 0) return Promise.resolve();
    return this.#wait(signal, (done) => {
      this.#idle = done;
      return () => (this.#idle = undefined);
    });
  }

  dispose(): void {
    this.#unwatch();
  }

  #wait(signal: AbortSignal, listen: (done: () => void) => () => void): Promise<void> {
    signal.throwIfAborted();
    return new Promise((resolve, reject) => {
      const done = () => {
        unlisten();
        signal.removeEventListener('abort', done);
        if (signal.aborted) reject(signal.reason);
        else resolve();
      };
      const unlisten = listen(done);
      signal.addEventListener('abort', done, { once: true });
    });
  }
}
