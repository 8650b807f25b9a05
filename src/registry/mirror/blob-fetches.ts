import type { Writable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { SlabPool } from '../../base/slab-pool.ts';
import { parseDigest, type Digest } from '../../oci/digest.ts';
import type { BlobInfo, BlobStore, ByteRange } from '../../store/blob-store.ts';
import { resolveRange } from '../../store/byte-range.ts';
import { BlobFetch, type BlobFetchTimings, type FetchSource } from './blob-fetch.ts';
import { FetchFollower } from './fetch-follower.ts';

export type { FetchSource } from './blob-fetch.ts';

export interface BlobFetchesDeps {
  blobs: BlobStore;
  logger: Logger;
  /** Called with each chunk's size as it arrives from a source (the upstream bytes metric). */
  onUpstreamBytes?: (n: number, source: FetchSource) => void;
  /** Defaults: another process's fetch waited for every 200 ms, 5 min at most. */
  timings?: Partial<BlobFetchTimings>;
}

const defaultTimings: BlobFetchTimings = {
  conflictIntervalMs: 200,
  conflictTimeoutMs: 5 * 60_000,
  followerPollMs: 50,
};

// Received bytes go into slabs of this size, and the ingest and the clients are written from them: 1 MiB writes
// where the source's chunks are 64 KiB. A few idle ones are kept for the next fetch (docs/benchmarks.md, "Mirror").
const slabBytes = 1024 * 1024;
const idleSlabs = 8;

export interface FollowedBlob {
  /** The whole blob's size (a range's bytes are its part of it). */
  size: number;
  /** Writes the client's bytes into `sink` (FetchFollower.copyTo): once, without ending it. */
  copyTo(sink: Writable, signal?: AbortSignal): Promise<number>;
  /** The committed blob; rejects with the fetch's error. */
  stored: Promise<BlobInfo>;
}

/**
 * The mirror's blob fetches: at most one per digest in this process, streamed into the BlobStore ingest
 * `mirror-<hex>` while every client reads what the ingest holds and follows it (fetch-follower.ts). Across
 * replicas the shared ingest lock keeps it to one: the others wait for the blob and serve it stored. A client
 * going away does not stop a fetch (the cache still fills); a failed fetch leaves nothing stored, and the next
 * follow starts a new one.
 */
export class BlobFetches {
  #deps: BlobFetchesDeps;
  #timings: BlobFetchTimings;
  #slabs = new SlabPool({ slabBytes, keep: idleSlabs });
  #running = new Map<string, { fetch: BlobFetch; done: Promise<void> }>();
  #closed = false;

  constructor(deps: BlobFetchesDeps) {
    this.#deps = deps;
    this.#timings = { ...defaultTimings, ...deps.timings };
  }

  /**
   * The blob's bytes for one client: starts the fetch of `digest` from `source` or joins the running one
   * (`source` is then not opened; it is confirmed first when the fetch is another origin's). Resolves once the
   * size is known; a range is checked against it (Fault out-of-range). Rejects when the fetch fails before that.
   */
  async follow(digest: string, source: FetchSource, range?: ByteRange): Promise<FollowedBlob> {
    const parsed = parseDigest(digest);
    let fetch: BlobFetch;
    let size: number;
    for (;;) {
      fetch = await this.#fetchOf(parsed, source);
      const joined = fetch.origin !== source.origin;
      // Joining another origin's fetch: the bytes are the digest's, but only that origin said it has them.
      if (joined) await source.confirm?.();
      try {
        size = await fetch.sized;
        break;
      } catch (err) {
        // Another origin's failure before a byte is not ours: the next round starts a fetch from this source.
        if (!joined) throw err;
      }
    }
    const span = resolveRange(parsed.value, size, range) ?? { start: 0, end: size - 1 };
    const follower = new FetchFollower({ fetch, blobs: this.#deps.blobs, start: span.start, end: span.end + 1 });
    return { size, copyTo: (sink, signal) => follower.copyTo(sink, signal), stored: fetch.stored };
  }

  /** Aborts the running fetches (their followers fail) and waits for each to drop its ingest. */
  async close(): Promise<void> {
    this.#closed = true;
    const running = [...this.#running.values()];
    for (const { fetch } of running) fetch.abort(new Fault('unavailable', 'the registry is shutting down'));
    await Promise.all(running.map((r) => r.done));
  }

  /** The running fetch of `digest`, else a new one. One that failed and is dropping its ingest is let go first. */
  async #fetchOf(digest: Digest, source: FetchSource): Promise<BlobFetch> {
    for (;;) {
      if (this.#closed) throw new Fault('unavailable', 'the registry is shutting down');
      const running = this.#running.get(digest.value);
      if (!running) return this.#start(digest, source);
      if (running.fetch.state !== 'failing') return running.fetch;
      await running.done;
    }
  }

  #start(digest: Digest, source: FetchSource): BlobFetch {
    const { blobs, logger, onUpstreamBytes } = this.#deps;
    const fetch = new BlobFetch({ digest, source, blobs, logger, onUpstreamBytes, timings: this.#timings, slabs: this.#slabs });
    const entry = { fetch, done: Promise.resolve() };
    this.#running.set(digest.value, entry);
    // Removed once the fetch is over and its ingest dropped or published, before any follower or `stored` learns
    // how it ended: whoever sees the failure and follows again starts a new fetch.
    entry.done = fetch.run(() => {
      if (this.#running.get(digest.value) === entry) this.#running.delete(digest.value);
    });
    return fetch;
  }
}
