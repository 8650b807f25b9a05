import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../base/log.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { Digest } from '../../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter } from '../../store/blob-store.ts';

/** Where a fetch gets the blob's bytes: opened once per fetch, however many clients follow it. */
export interface FetchSource {
  /** Named in the faults a fetch raises (the upstream's label); "upstream" alone when absent. */
  readonly name?: string;
  /**
   * Where the blob is asked for (the upstream and the name there). A source of another origin than the fetch's
   * own is not opened but `confirm`ed: the fetch's bytes are this blob, yet only its origin said it has it.
   */
  readonly origin?: string;
  open(signal: AbortSignal): Promise<{ size: number; stream: Readable }>;
  /** Resolves when this source has the blob too; rejects (not found, unavailable) otherwise. */
  confirm?(signal?: AbortSignal): Promise<void>;
}

/**
 * A source that stops sending is its own to detect (RegistryUpstream's stallMs fails the body it returns): one
 * stall timer per body, the one that knows whether the upstream or a slow reader is behind.
 */
export interface BlobFetchTimings {
  /** Another process holds the ingest: how often its blob is looked for, and for how long. */
  conflictIntervalMs: number;
  conflictTimeoutMs: number;
  /** A follower waiting for bytes looks again after this long even when no progress was announced. */
  followerPollMs: number;
}

export interface BlobFetchOptions {
  digest: Digest;
  source: FetchSource;
  blobs: BlobStore;
  logger: Logger;
  timings: BlobFetchTimings;
  onUpstreamBytes?: (n: number, source: FetchSource) => void;
}

/**
 * 'elsewhere': another process (replica) holds the ingest; this one waits for its blob.
 * 'committing': every byte is in the ingest, the writer verifies and publishes it.
 * 'failing': the fetch failed and drops its ingest; nobody sees the failure before it is 'failed'.
 */
export type BlobFetchState = 'starting' | 'elsewhere' | 'writing' | 'committing' | 'committed' | 'failing' | 'failed';

// The latest bytes received are kept (as the chunks that arrived) for the followers that keep up with the fetch:
// they take them from memory instead of reading them back from the ingest, on the thread that also receives them
// (docs/benchmarks.md, "Mirror"). A follower further behind reads the ingest, so this is all a fetch holds however
// many follow it.
const recentBytes = 2 * 1024 * 1024;

// The fetch reads the source at most this far ahead of its leading follower (the one furthest on), so that a
// client slower than the upstream still gets its bytes from memory (as distribution's proxy mode, which copies to
// the client while it stores, goes at the client's pace). A leader that does not advance for `paceMs` is waited
// for no more: the fetch then goes at the source's speed, and followers behind read the ingest.
const paceAhead = recentBytes / 2;
const paceMs = 1000;

// The upstream bytes metric is told in batches of this much (and at the end): once per chunk cost a measurable
// part of a fetch.
const countedBytes = 1024 * 1024;

/**
 * One upstream fetch of one blob into the ingest `mirror-<hex>`: the writer hashes as the bytes arrive and the
 * commit verifies them. Followers (fetch-follower.ts) take the latest bytes from `recent`, read the ingest up to
 * `readable` when they are further behind, and wait on `progress`. Only BlobFetches creates it; `run` is called once.
 */
export class BlobFetch {
  readonly digest: Digest;
  readonly ref: string;
  /** The blob's size, once the source opened (or the blob was found stored). */
  readonly sized: Promise<number>;
  /** The committed blob; rejects with the fetch's error. */
  readonly stored: Promise<BlobInfo>;
  #options: BlobFetchOptions;
  #abort = new AbortController();
  #state: BlobFetchState = 'starting';
  #error: Fault | undefined;
  #writer: BlobWriter | undefined;
  #waiters = new Set<() => void>();
  #followers = new Set<Readable>();
  /** The latest chunks received: bytes [#recentStart, #received). */
  #recent: Uint8Array[] = [];
  #recentStart = 0;
  #received = 0;
  /** How far each follower that still wants bytes got; the fetch waits for the furthest (see paceAhead). */
  #positions = new Map<Readable, number>();
  #pacing = true;
  #paced: (() => void) | undefined;
  #settle!: { sized: (size: number) => void; stored: (info: BlobInfo) => void; fail: (err: unknown) => void };

  constructor(options: BlobFetchOptions) {
    this.#options = options;
    this.digest = options.digest;
    this.ref = ingestRef(options.digest);
    const sized = Promise.withResolvers<number>();
    const stored = Promise.withResolvers<BlobInfo>();
    this.sized = sized.promise;
    this.stored = stored.promise;
    // Nobody may be listening (every client gone): the fetch's failure is logged, never unhandled.
    this.sized.catch(() => {});
    this.stored.catch(() => {});
    this.#settle = {
      sized: sized.resolve,
      stored: stored.resolve,
      fail: (err) => {
        sized.reject(err);
        stored.reject(err);
      },
    };
  }

  /** The origin of the source that started the fetch. */
  get origin(): string | undefined {
    return this.#options.source.origin;
  }

  get state(): BlobFetchState {
    return this.#state;
  }

  get error(): Fault | undefined {
    return this.#error;
  }

  /** Bytes of the ingest a follower may read now: what the driver acknowledged to the writer. */
  get readable(): number {
    return this.#state === 'writing' || this.#state === 'committing' ? (this.#writer?.offset ?? 0) : 0;
  }

  /** Bytes received from the source so far. */
  get received(): number {
    return this.#received;
  }

  /**
   * The bytes from `position` up to `end` (exclusive) in the chunk that holds them, if it is among the latest
   * received (`recentBytes`); undefined otherwise (not received yet, or let go). Before a failure or the commit
   * only: a failing fetch serves nothing more, a committed one is read from the blob.
   */
  recent(position: number, end: number): Uint8Array | undefined {
    if (this.#state !== 'writing' && this.#state !== 'committing') return undefined;
    if (position < this.#recentStart || position >= this.#received || position >= end) return undefined;
    // From the newest: a follower that keeps up wants the chunk that just arrived.
    let at = this.#received;
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const chunk = this.#recent[i];
      at -= chunk.byteLength;
      if (position < at) continue;
      const from = position - at;
      const to = Math.min(chunk.byteLength, end - at);
      return from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to);
    }
    return undefined;
  }

  /**
   * Resolves on the next announced progress (a chunk received, the end of the write, the commit, the failure),
   * or when `signal` aborts; with `poll`, also after `followerPollMs` (for a follower waiting on the writer's
   * acknowledgement, which is not announced).
   */
  progress(signal: AbortSignal, poll = true): Promise<void> {
    if (this.#state === 'committed' || this.#state === 'failed' || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        this.#waiters.delete(done);
        resolve();
      };
      const timer = poll ? setTimeout(done, this.#options.timings.followerPollMs) : undefined;
      signal.addEventListener('abort', done, { once: true });
      this.#waiters.add(done);
    });
  }

  /**
   * A follower tells how far it got (the bytes it handed to its client); undefined once it wants no more until the
   * commit (its last byte), so that the fetch does not wait for it.
   */
  reached(follower: Readable, position: number | undefined): void {
    if (position === undefined) this.#positions.delete(follower);
    else this.#positions.set(follower, position);
    if (position === undefined || position >= this.#received - paceAhead) this.#paced?.();
  }

  /**
   * A follower's stream, destroyed with the fetch's error should the fetch fail; `start` as for `reached`: where
   * it starts, undefined when the fetch need not wait for it.
   */
  attach(follower: Readable, start: number | undefined): void {
    if (this.#state === 'failed') {
      follower.destroy(this.#error);
      return;
    }
    this.#followers.add(follower);
    if (start !== undefined) this.#positions.set(follower, start);
    follower.once('close', () => {
      this.#followers.delete(follower);
      this.reached(follower, undefined);
    });
  }

  abort(reason: Fault): void {
    this.#abort.abort(reason);
  }

  /**
   * Settles `sized` and `stored`. `cleanup` (leaving BlobFetches' running map) runs before anyone learns how the
   * fetch ended: on failure after the ingest is dropped and before a follower is broken off or `stored` rejects,
   * so a client that retries at once starts a new fetch on a free ingest instead of joining this one.
   */
  async run(cleanup: () => void): Promise<void> {
    const started = Date.now();
    try {
      const info = await this.#fetch();
      this.#state = 'committed';
      this.#letGo();
      this.#announce();
      cleanup();
      this.#settle.stored(info);
      this.#options.logger.debug({ digest: this.digest.value, size: info.size, ms: Date.now() - started }, 'mirror blob fetched');
    } catch (err) {
      await this.#fail(err, cleanup);
    }
  }

  async #fetch(): Promise<BlobInfo> {
    const writer = await this.#acquire();
    if (!writer) return this.#storedElsewhere();
    this.#writer = writer;
    const { size, stream } = await this.#options.source.open(this.#abort.signal);
    this.#state = 'writing';
    this.#settle.sized(size);
    try {
      // limit: an upstream sending more than it announced is cut off there and fails the commit below.
      await writer.write(this.#feed(stream), { signal: this.#abort.signal, limit: size });
    } finally {
      // The writer iterates the body without owning it: a failed or aborted write leaves it to us. An ended
      // one stays as it is, so that its connection can be reused.
      if (!stream.readableEnded) stream.destroy();
    }
    if (writer.offset !== size) throw this.#upstreamFault(`blob ${this.digest.value} ended after ${writer.offset} of ${size} bytes`);
    this.#state = 'committing';
    this.#announce();
    return await writer.commit({ digest: this.digest.value, size });
  }

  /**
   * The source's body as the writer pulls it: every chunk kept among the recent ones, announced, and counted; the
   * next one is read once the leading follower is close enough (#pace).
   */
  async *#feed(stream: Readable): AsyncGenerator<Uint8Array> {
    let uncounted = 0;
    try {
      for await (const chunk of stream) {
        this.#keep(chunk as Uint8Array);
        this.#announce();
        uncounted += (chunk as Uint8Array).byteLength;
        if (uncounted >= countedBytes) uncounted = this.#count(uncounted);
        yield chunk as Uint8Array;
        await this.#pace();
      }
    } finally {
      this.#count(uncounted);
    }
    this.#announce();
  }

  /** Waits for the leading follower to come within `paceAhead`; for at most `paceMs` of no progress. */
  async #pace(): Promise<void> {
    while (this.#pacing && this.#leader() < this.#received - paceAhead) {
      const leader = this.#leader();
      const { promise, resolve } = Promise.withResolvers<void>();
      const timer = setTimeout(resolve, paceMs);
      const signal = this.#abort.signal;
      signal.addEventListener('abort', resolve as () => void, { once: true });
      this.#paced = resolve as () => void;
      await promise;
      this.#paced = undefined;
      clearTimeout(timer);
      signal.removeEventListener('abort', resolve as () => void);
      signal.throwIfAborted();
      if (this.#leader() === leader) this.#pacing = false;
    }
  }

  /** The furthest position of the followers that want more bytes; Infinity when none does. */
  #leader(): number {
    let leader = -1;
    for (const position of this.#positions.values()) leader = Math.max(leader, position);
    return leader < 0 ? Infinity : leader;
  }

  #count(bytes: number): 0 {
    if (bytes > 0) this.#options.onUpstreamBytes?.(bytes, this.#options.source);
    return 0;
  }

  /** Adds a received chunk to the recent ones, letting the oldest go past `recentBytes`. */
  #keep(chunk: Uint8Array): void {
    this.#recent.push(chunk);
    this.#received += chunk.byteLength;
    while (this.#recent.length > 1 && this.#received - this.#recentStart - this.#recent[0].byteLength >= recentBytes) {
      this.#recentStart += (this.#recent.shift() as Uint8Array).byteLength;
    }
  }

  #letGo(): void {
    this.#recent = [];
    this.#recentStart = this.#received;
  }

  /**
   * The ingest's writer; undefined when the blob is (or got) stored. A held ingest is another process's fetch
   * (the lock is shared by replicas): its blob is waited for, and the ingest taken over should it be released
   * without one. Bytes an earlier process left (a crash) are dropped: the fetch starts over from byte 0.
   */
  async #acquire(): Promise<BlobWriter | undefined> {
    const { blobs, logger, timings } = this.#options;
    const deadline = Date.now() + timings.conflictTimeoutMs;
    for (;;) {
      if (await blobs.stat(this.digest.value)) return undefined;
      const writer = await this.#tryIngest();
      if (writer && writer.offset === 0) return writer;
      if (writer) {
        logger.info({ digest: this.digest.value, ref: this.ref, offset: writer.offset }, 'dropping a mirror fetch left over by an earlier process');
        await writer.cancel();
        continue;
      }
      if (this.#state !== 'elsewhere') {
        logger.info({ digest: this.digest.value, ref: this.ref }, 'mirror blob fetched by another process; waiting for it');
        // That process's upstream may not be ours: ours must have the blob before its bytes are served here.
        await this.#options.source.confirm?.(this.#abort.signal);
      }
      this.#state = 'elsewhere';
      if (Date.now() >= deadline) {
        throw new Fault('unavailable', `blob ${this.digest.value} is being fetched by another process and was not stored within ${timings.conflictTimeoutMs} ms`, {
          code: 'UPSTREAM_UNAVAILABLE',
          detail: { digest: this.digest.value },
        });
      }
      await sleep(timings.conflictIntervalMs, undefined, { signal: this.#abort.signal }).catch(() => {
        throw this.#abort.signal.reason;
      });
    }
  }

  async #tryIngest(): Promise<BlobWriter | undefined> {
    try {
      return await this.#options.blobs.ingest(this.ref);
    } catch (err) {
      if (isFault(err, 'conflict')) return undefined;
      throw err;
    }
  }

  async #storedElsewhere(): Promise<BlobInfo> {
    const info = await this.#options.blobs.stat(this.digest.value);
    if (!info) throw new Fault('internal', `blob ${this.digest.value} vanished as it was stored`);
    this.#settle.sized(info.size);
    return info;
  }

  async #fail(err: unknown, cleanup: () => void): Promise<void> {
    const fault = this.#asFault(err);
    // Followers read nothing more meanwhile ('failing' is not readable) and learn of the failure only below.
    this.#state = 'failing';
    this.#letGo();
    // The commit drops the ingest itself on a mismatch; cancel is then a no-op.
    await this.#writer?.cancel().catch((cancelErr: unknown) => {
      this.#options.logger.warn({ err: cancelErr, ref: this.ref }, 'mirror fetch: could not drop the ingest');
    });
    cleanup();
    this.#state = 'failed';
    this.#error = fault;
    this.#announce();
    for (const follower of this.#followers) follower.destroy(fault);
    this.#settle.fail(fault);
    this.#options.logger.warn({ err: fault, digest: this.digest.value }, 'mirror blob fetch failed');
  }

  /** What the client and the log see: store and upstream faults as they are, a mismatch as the upstream's fault. */
  #asFault(err: unknown): Fault {
    if (this.#abort.signal.aborted && err !== this.#abort.signal.reason && isFault(this.#abort.signal.reason)) return this.#abort.signal.reason as Fault;
    if (isFault(err, 'invalid-argument') || isFault(err, 'too-large')) {
      if (err.code === 'DIGEST_INVALID' || err.code === 'SIZE_INVALID') {
        const name = this.#options.source.name;
        return new Fault('unavailable', `upstream ${name ? `${name} ` : ''}sent content that does not match ${this.digest.value}`, {
          code: 'UPSTREAM_UNAVAILABLE',
          detail: { upstream: name, digest: this.digest.value },
          cause: err,
        });
      }
    }
    if (isFault(err)) return err;
    return this.#upstreamFault(`blob ${this.digest.value} transfer failed: ${(err as Error)?.message ?? String(err)}`, err);
  }

  #upstreamFault(why: string, cause?: unknown): Fault {
    const name = this.#options.source.name;
    return new Fault('unavailable', `upstream ${name ? `${name} ` : ''}unavailable: ${why}`, {
      code: 'UPSTREAM_UNAVAILABLE',
      detail: { upstream: name, digest: this.digest.value },
      cause,
    });
  }

  #announce(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** `mirror-<hex>`; a digest whose hex would not fit an ingest ref (sha512) is named by the sha256 of it. */
function ingestRef(digest: Digest): string {
  return digest.hex.length <= 121 ? `mirror-${digest.hex}` : `mirror-${digest.algorithm}-${digestHex(digest.value)}`;
}

function digestHex(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}
