import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../base/log.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { SlabPool } from '../../base/slab-pool.ts';
import type { BorrowedBody } from '../../client/raw-get.ts';
import type { Digest } from '../../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter } from '../../store/blob-store.ts';
import { ReceivedSlabs, type RecentBytes, recentBytes } from './received-slabs.ts';

/** Where a fetch gets the blob's bytes: opened once per fetch, however many clients follow it. */
export interface FetchSource {
  /** Named in the faults a fetch raises (the upstream's label); "upstream" alone when absent. */
  readonly name?: string;
  /**
   * Where the blob is asked for (the upstream and the name there). A source of another origin than the fetch's
   * own is not opened but `confirm`ed: the fetch's bytes are this blob, yet only its origin said it has it.
   */
  readonly origin?: string;
  /** The body: a chunk may be reused by the source once the next is asked for (the fetch copies it at once). */
  open(signal: AbortSignal): Promise<{ size: number; stream: BorrowedBody }>;
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
  /** Where the received bytes are kept until the ingest and every client that keeps up have them. */
  slabs: SlabPool;
  onUpstreamBytes?: (n: number, source: FetchSource) => void;
}

/**
 * 'elsewhere': another process (replica) holds the ingest; this one waits for its blob.
 * 'committing': every byte is in the ingest, the writer verifies and publishes it.
 * 'failing': the fetch failed and drops its ingest; nobody sees the failure before it is 'failed'.
 */
export type BlobFetchState = 'starting' | 'elsewhere' | 'writing' | 'committing' | 'committed' | 'failing' | 'failed';

// The fetch reads the source at most this far ahead of its leading follower (the one furthest on), so that a
// client slower than the upstream still gets its bytes from memory (as distribution's proxy mode, which copies to
// the client while it stores, goes at the client's pace). A leader that does not advance for `paceMs` is waited
// for no more: the fetch then goes at the source's speed, and followers behind read the ingest.
const paceAhead = recentBytes / 2;
const paceMs = 1000;

// Bytes received and not yet written to the ingest: the source is not read further past this (a slow disk).
const unwrittenMax = 8 * 1024 * 1024;

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
  #followers = new Map<object, (err: Fault) => void>();
  /** What the source sent, once it opened. */
  #bytes: ReceivedSlabs | undefined;
  /** Wakes the source's read, waiting for its leading follower or the ingest to catch up. */
  #wakeReader: (() => void) | undefined;
  /** How far each follower that still wants bytes got; the fetch waits for the furthest (see paceAhead). */
  #positions = new Map<object, number>();
  #pacing = true;
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
    return this.#bytes?.received ?? 0;
  }

  /**
   * The bytes from `position` up to `end` (exclusive) in the slab that holds them, if it is among the latest
   * received (`recentBytes`); undefined otherwise (not received yet, or let go). Before a failure or the commit
   * only: a failing fetch serves nothing more, a committed one is read from the blob.
   */
  recent(position: number, end: number): RecentBytes | undefined {
    if (this.#state !== 'writing' && this.#state !== 'committing') return undefined;
    return this.#bytes?.recent(position, end);
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
  reached(follower: object, position: number | undefined): void {
    if (position === undefined) this.#positions.delete(follower);
    else this.#positions.set(follower, position);
    if (position === undefined || position >= this.received - paceAhead) this.#wakeReader?.();
  }

  /**
   * A follower, told the fetch's error through `fail` should the fetch fail (at once when it already has); `start`
   * as for `reached`: where it starts, undefined when the fetch need not wait for it. `detach` when it is done.
   */
  attach(follower: object, start: number | undefined, fail: (err: Fault) => void): void {
    if (this.#state === 'failed') return fail(this.#error as Fault);
    this.#followers.set(follower, fail);
    if (start !== undefined) this.#positions.set(follower, start);
  }

  detach(follower: object): void {
    this.#followers.delete(follower);
    this.reached(follower, undefined);
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
    const bytes = new ReceivedSlabs(this.#options.slabs);
    this.#bytes = bytes;
    const writing = bytes.writeAll(writer, this.#abort.signal, () => this.#wakeReader?.());
    // A failed ingest write (a full disk) fails the fetch: the source is read no further. Handled here at once, as
    // it may fail while the source is awaited; awaited below.
    writing.catch((err: unknown) => this.#abort.abort(err));
    try {
      await this.#receive(stream, size, bytes);
    } catch (err) {
      this.#abort.abort(err);
      throw err;
    } finally {
      bytes.end();
      // An ended body stays as it is, so that its connection can be reused; any other is ours to close.
      if (!stream.readableEnded) stream.destroy();
      await writing.catch(() => {});
    }
    await writing;
    if (writer.offset !== size) throw this.#upstreamFault(`blob ${this.digest.value} ended after ${writer.offset} of ${size} bytes`);
    this.#state = 'committing';
    this.#announce();
    return await writer.commit({ digest: this.digest.value, size });
  }

  /**
   * The source's body into slabs: each chunk copied into the slab being filled and announced (followers that keep
   * up take it from there), counted; the next is read once the leading follower is close enough and the ingest
   * not too far behind (#pace). More bytes than announced are the source's failure, not the writer's limit.
   */
  async #receive(stream: BorrowedBody, size: number, bytes: ReceivedSlabs): Promise<void> {
    let uncounted = 0;
    try {
      for await (const chunk of stream) {
        // A failed ingest write or close() aborts the fetch: a source that goes on sending is read no further.
        this.#abort.signal.throwIfAborted();
        const received = chunk as Uint8Array;
        if (bytes.received + received.byteLength > size) throw this.#upstreamFault(`blob ${this.digest.value} is longer than the ${size} bytes announced`);
        bytes.place(received);
        this.#announce();
        uncounted += received.byteLength;
        if (uncounted >= countedBytes) uncounted = this.#count(uncounted);
        if (this.#mustPace()) await this.#pace();
      }
    } finally {
      this.#count(uncounted);
    }
    this.#announce();
  }

  #mustPace(): boolean {
    return (this.#pacing && this.#leader() < this.received - paceAhead) || (this.#bytes?.unwritten ?? 0) > unwrittenMax;
  }

  /**
   * Waits for the leading follower to come within `paceAhead`, for at most `paceMs` of no progress, and for the
   * ingest to be within `unwrittenMax`.
   */
  async #pace(): Promise<void> {
    const signal = this.#abort.signal;
    while (this.#mustPace()) {
      signal.throwIfAborted();
      const leader = this.#leader();
      const { promise, resolve } = Promise.withResolvers<boolean>();
      const wake = () => resolve(false);
      const timer = setTimeout(() => resolve(true), paceMs);
      signal.addEventListener('abort', wake, { once: true });
      this.#wakeReader = wake;
      const timedOut = await promise;
      this.#wakeReader = undefined;
      clearTimeout(timer);
      signal.removeEventListener('abort', wake);
      signal.throwIfAborted();
      if (timedOut && this.#leader() === leader && leader < this.received - paceAhead) this.#pacing = false;
    }
  }

  /**
   * The furthest position of the followers that want more bytes; Infinity when none does. A follower behind what
   * memory holds reads the ingest, which waiting for it would not spare: it does not count.
   */
  #leader(): number {
    let leader = -1;
    for (const position of this.#positions.values()) if (position >= this.received - recentBytes) leader = Math.max(leader, position);
    return leader < 0 ? Infinity : leader;
  }

  #count(bytes: number): 0 {
    if (bytes > 0) this.#options.onUpstreamBytes?.(bytes, this.#options.source);
    return 0;
  }

  /** The followers read nothing more from memory: the recent slabs go back to the pool once unused. */
  #letGo(): void {
    this.#bytes?.letGo();
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
    for (const fail of this.#followers.values()) fail(fault);
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
