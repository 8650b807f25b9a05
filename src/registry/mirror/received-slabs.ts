import type { Slab, SlabPool } from '../../base/slab-pool.ts';
import type { BlobWriter } from '../../store/blob-store.ts';

/** Bytes of a slab the fetch holds: the slab is the caller's to `retain` at once if it keeps them past this turn. */
export interface RecentBytes {
  slab: Slab;
  bytes: Buffer;
}

/** A slab placed in the blob: its byte 0 is the blob's byte `at`. */
interface Placed {
  slab: Slab;
  at: number;
}

// The latest bytes received stay in memory this long for the followers that keep up; one further behind reads the
// ingest, so this is all a fetch holds for its followers however many follow it.
export const recentBytes = 2 * 1024 * 1024;

// The ingest is written a whole slab at a time, and what a slab holds so far once the source has sent nothing for
// this long: a source that pauses mid-slab (a slow upstream) still has its bytes in the ingest soon after.
const flushMs = 10;

/**
 * A fetch's received bytes, copied into reused slabs (src/base/slab-pool.ts), from which the ingest is written
 * (`writeAll`) and every follower that keeps up takes its bytes (`recent`), without a buffer allocated per chunk
 * (docs/benchmarks.md, "Mirror"). Each slab has one reference for the recent ones while among the latest
 * `recentBytes`, and one for the ingest until written whole; a follower retains what it sends.
 */
export class ReceivedSlabs {
  #pool: SlabPool;
  #recent: Placed[] = [];
  #unwritten: Placed[] = [];
  /** The slab being filled: the last of both lists. */
  #filling: Placed | undefined;
  #received = 0;
  #written = 0;
  #receiving = true;
  /** Wakes the ingest's write loop: a slab filled up, the source paused (#flush) or ended. */
  #wakeWriter: (() => void) | undefined;
  #flush = false;
  #flushTimer: NodeJS.Timeout;

  constructor(pool: SlabPool) {
    this.#pool = pool;
    this.#flushTimer = setTimeout(() => {
      this.#flush = true;
      this.#wakeWriter?.();
    }, flushMs);
  }

  get received(): number {
    return this.#received;
  }

  /** Bytes received and not yet handed to the ingest. */
  get unwritten(): number {
    return this.#received - this.#written;
  }

  /** Copies a chunk into the slab being filled, taking new ones as they fill up. */
  place(chunk: Uint8Array): void {
    for (let from = 0; from < chunk.byteLength; ) {
      if (!this.#filling || this.#filling.slab.free === 0) this.#takeSlab();
      const { slab } = this.#filling as Placed;
      const take = Math.min(slab.free, chunk.byteLength - from);
      slab.bytes.set(from === 0 && take === chunk.byteLength ? chunk : chunk.subarray(from, from + take), slab.length);
      slab.length += take;
      this.#received += take;
      from += take;
      if (slab.free === 0) this.#wakeWriter?.();
    }
    this.#flushTimer.refresh();
  }

  /** The source sent its last byte, or failed: the write loop writes what is left, or stops at the abort. */
  end(): void {
    this.#receiving = false;
    clearTimeout(this.#flushTimer);
    this.#wakeWriter?.();
  }

  /** The bytes from `position` up to `end` (exclusive) in the recent slab that holds them; undefined otherwise. */
  recent(position: number, end: number): RecentBytes | undefined {
    if (position >= this.#received || position >= end) return undefined;
    // From the newest: a follower that keeps up wants the slab being filled.
    for (let i = this.#recent.length - 1; i >= 0; i--) {
      const { slab, at } = this.#recent[i];
      if (position < at) continue;
      return { slab, bytes: slab.bytes.subarray(position - at, Math.min(slab.length, end - at)) };
    }
    return undefined;
  }

  /**
   * The ingest's writes, one at a time, until the source ended and every byte is written; `onWritten` after each.
   * `BlobWriter.write` keeps no reference to its chunks once it settled, so a slab written whole is let go at once.
   */
  async writeAll(writer: BlobWriter, signal: AbortSignal, onWritten: () => void): Promise<void> {
    try {
      for (;;) {
        signal.throwIfAborted();
        const first = this.#unwritten[0];
        const end = first ? first.at + first.slab.length : this.#written;
        const settled = first !== undefined && (first.slab.free === 0 || !this.#receiving);
        // Whole slabs (the rest when the source pauses or ends): one write per MiB, where each write has a fixed
        // cost (its abort signals, the driver's sink) that a write per socket read paid hundreds of times per blob.
        if (this.#written < end && (settled || this.#flush)) {
          this.#flush = false;
          await writer.write(oneChunk(first.slab.bytes.subarray(this.#written - first.at, first.slab.length)), { signal });
          this.#written = end;
          onWritten();
        } else if (settled) {
          this.#unwritten.shift();
          first.slab.release();
        } else if (this.#receiving) {
          await new Promise<void>((resolve) => (this.#wakeWriter = resolve));
          this.#wakeWriter = undefined;
        } else return;
      }
    } finally {
      for (const { slab } of this.#unwritten.splice(0)) slab.release();
    }
  }

  /** The followers read nothing more from memory: the recent slabs go back to the pool once unused. */
  letGo(): void {
    for (const { slab } of this.#recent.splice(0)) slab.release();
    this.#filling = undefined;
  }

  /** A new slab for both lists (a reference each); the oldest recent ones let go past `recentBytes`. */
  #takeSlab(): void {
    const slab = this.#pool.take();
    const placed = { slab, at: this.#received };
    this.#recent.push(placed);
    this.#unwritten.push({ slab: slab.retain(), at: this.#received });
    this.#filling = placed;
    while (this.#recent.length > 1 && this.#received - this.#recent[1].at >= recentBytes) (this.#recent.shift() as Placed).slab.release();
  }
}

async function* oneChunk(chunk: Uint8Array): AsyncGenerator<Uint8Array> {
  yield chunk;
}
