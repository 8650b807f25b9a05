import { Fault } from './fault.ts';

/**
 * A fixed-size buffer lent out by a SlabPool and taken back when its last holder releases it. Each holder (a
 * write in flight, a list that keeps it) takes a reference with `retain` and gives it back with `release`,
 * exactly once: the bytes are reused as soon as the count is back to zero, so a release too many would hand
 * them to the next taker while someone still reads them; it is refused loudly instead (Fault internal) once the
 * count is already zero. A slab never released is only never reused: the garbage collector takes it.
 */
export class Slab {
  readonly bytes: Buffer;
  /** The filled bytes: [0, length). */
  length = 0;
  #refs = 1;
  #pool: SlabPool;

  constructor(bytes: Buffer, pool: SlabPool) {
    this.bytes = bytes;
    this.#pool = pool;
  }

  get filled(): Buffer {
    return this.bytes.subarray(0, this.length);
  }

  get free(): number {
    return this.bytes.byteLength - this.length;
  }

  retain(): this {
    if (this.#refs === 0) throw new Fault('internal', 'a slab was retained after its last release');
    this.#refs++;
    return this;
  }

  release(): void {
    if (this.#refs === 0) throw new Fault('internal', 'a slab was released more often than it was retained');
    if (--this.#refs === 0) this.#pool.put(this);
  }

  /** For SlabPool.take only: a reused slab starts empty, with its taker's reference. */
  reset(): this {
    this.length = 0;
    this.#refs = 1;
    return this;
  }
}

/**
 * Reused buffers of `slabBytes` each, for bytes that pass through (a blob relayed from an upstream to the store
 * and to clients): taking one allocates nothing once the pool is warm, where a new buffer per chunk kept the
 * garbage collector busy and every buffer above glibc's mmap threshold cost a fresh mapping and its page faults
 * (docs/benchmarks.md, "Mirror"). At most `keep` free slabs are held; more are left to the garbage collector.
 */
export class SlabPool {
  readonly slabBytes: number;
  #keep: number;
  #free: Slab[] = [];

  constructor(options: { slabBytes: number; keep: number }) {
    this.slabBytes = options.slabBytes;
    this.#keep = options.keep;
  }

  /** A slab with one reference, the taker's. */
  take(): Slab {
    return this.#free.pop()?.reset() ?? new Slab(Buffer.allocUnsafeSlow(this.slabBytes), this);
  }

  /** Slabs waiting to be taken again. */
  get idle(): number {
    return this.#free.length;
  }

  /** From Slab.release only. */
  put(slab: Slab): void {
    if (this.#free.length < this.#keep) this.#free.push(slab);
  }
}
