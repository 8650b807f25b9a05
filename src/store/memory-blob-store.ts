import { Readable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { Digester, digestOf, parseDigest, type DigestAlgorithm } from '../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange, IngestInfo, StoredBlobInfo } from './blob-store.ts';
import { resolveRange } from './byte-range.ts';
import { AbortableSource } from './abortable-source.ts';
import { assertIngestRef } from './ingest-ref.ts';
import { checkLimit, writeLimitExceeded } from './write-limit.ts';

const readChunk = 64 * 1024;

/** Bytes of one ingest; survives the writer, as a file would, until commit or abort. */
interface Ingest {
  chunks: Buffer[];
  size: number;
  digester: Digester;
  updatedAt: Date;
}

/**
 * A real BlobStore kept in memory, with the same semantics as the filesystem driver (resume by ref, verify on
 * commit, one writer per ref). For tests and throwaway instances; blobs are buffered, so keep them small.
 */
export class MemoryBlobStore implements BlobStore {
  #blobs = new Map<string, Buffer>();
  /** Last use of each blob (commit or touch): what garbage collection's grace period counts from. */
  #usedAt = new Map<string, Date>();
  #ingests = new Map<string, Ingest>();
  #held = new Map<string, MemoryBlobWriter>();

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const parsed = parseDigest(digest);
    const data = this.#blobs.get(parsed.value);
    return data ? { digest: parsed.value, size: data.byteLength } : undefined;
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    const parsed = parseDigest(digest);
    const data = this.#blobs.get(parsed.value);
    if (!data) throw new Fault('not-found', `blob ${parsed.value} not found`, { code: 'BLOB_UNKNOWN' });
    const span = resolveRange(parsed.value, data.byteLength, range);
    const view = span ? data.subarray(span.start, span.end + 1) : data;
    return Readable.from(slices(view), { objectMode: false });
  }

  async ingest(ref: string): Promise<BlobWriter> {
    assertIngestRef(ref);
    if (this.#held.has(ref)) throw new Fault('conflict', `ingest ${ref} is already open`, { code: 'BLOB_UPLOAD_INVALID' });
    let state = this.#ingests.get(ref);
    if (!state) {
      state = { chunks: [], size: 0, digester: new Digester('sha256'), updatedAt: new Date() };
      this.#ingests.set(ref, state);
    }
    const writer = new MemoryBlobWriter(ref, state, {
      publish: (digest, data) => {
        if (!this.#blobs.has(digest)) this.#blobs.set(digest, data);
        this.#usedAt.set(digest, new Date());
      },
      drop: () => this.#ingests.delete(ref),
      release: () => this.#held.delete(ref),
    });
    this.#held.set(ref, writer);
    return writer;
  }

  async *listIngests(): AsyncIterable<IngestInfo> {
    for (const [ref, state] of [...this.#ingests]) yield { ref, offset: state.size, updatedAt: state.updatedAt };
  }

  async ingestStatus(ref: string): Promise<{ offset: number } | undefined> {
    assertIngestRef(ref);
    const state = this.#ingests.get(ref);
    return state ? { offset: state.size } : undefined;
  }

  async abortIngest(ref: string): Promise<void> {
    assertIngestRef(ref);
    await this.#held.get(ref)?.cancel();
    this.#ingests.delete(ref);
  }

  async delete(digest: string): Promise<void> {
    const parsed = parseDigest(digest);
    if (!this.#blobs.delete(parsed.value)) {
      throw new Fault('not-found', `blob ${parsed.value} not found`, { code: 'BLOB_UNKNOWN' });
    }
    this.#usedAt.delete(parsed.value);
  }

  async *list(): AsyncIterable<StoredBlobInfo> {
    for (const digest of [...this.#blobs.keys()].sort()) {
      const data = this.#blobs.get(digest);
      if (data) yield { digest, size: data.byteLength, usedAt: this.#usedAt.get(digest) ?? new Date(0) };
    }
  }

  async touch(digest: string): Promise<BlobInfo | undefined> {
    const info = await this.stat(digest);
    if (info) this.#usedAt.set(info.digest, new Date());
    return info;
  }

  /** Synchronous from check to delete: nothing interleaves, so no touch can race it. */
  async deleteUnused(digest: string, cutoff: Date): Promise<boolean> {
    const { value } = parseDigest(digest);
    const usedAt = this.#usedAt.get(value);
    if (!this.#blobs.has(value) || (usedAt && usedAt >= cutoff)) return false;
    this.#blobs.delete(value);
    this.#usedAt.delete(value);
    return true;
  }

  async recoverDeletes(): Promise<number> {
    return 0;
  }
}

interface MemoryWriterHooks {
  publish(digest: string, data: Buffer): void;
  drop(): void;
  release(): void;
}

class MemoryBlobWriter implements BlobWriter {
  readonly ref: string;
  #state: Ingest;
  #hooks: MemoryWriterHooks;
  #open = true;
  #writing = false;
  #abort = new AbortController();

  constructor(ref: string, state: Ingest, hooks: MemoryWriterHooks) {
    this.ref = ref;
    this.#state = state;
    this.#hooks = hooks;
  }

  get offset(): number {
    return this.#state.size;
  }

  async write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal; limit?: number } = {}): Promise<number> {
    this.#assertOpen();
    if (this.#writing) throw new Fault('conflict', `ingest ${this.ref}: a write is already in progress`);
    const limit = checkLimit(options.limit);
    const signal = AbortSignal.any(options.signal ? [options.signal, this.#abort.signal] : [this.#abort.signal]);
    this.#writing = true;
    try {
      await this.#consume(source, limit, signal);
    } finally {
      this.#writing = false;
    }
    return this.#state.size;
  }

  async #consume(source: AsyncIterable<Uint8Array> | Readable, limit: number, signal: AbortSignal): Promise<void> {
    const input = new AbortableSource(source, signal);
    let budget = limit;
    try {
      for (let chunk = await input.next(); chunk !== undefined; chunk = await input.next()) {
        const allowed = Buffer.from(chunk.subarray(0, budget));
        this.#append(allowed);
        budget -= allowed.byteLength;
        if (allowed.byteLength < chunk.byteLength) throw writeLimitExceeded(this.ref, limit);
      }
    } catch (err) {
      input.stop();
      throw err;
    }
  }

  #append(chunk: Buffer): void {
    if (chunk.byteLength === 0) return;
    this.#state.chunks.push(chunk);
    this.#state.size += chunk.byteLength;
    this.#state.digester.update(chunk);
    this.#state.updatedAt = new Date();
  }

  async digest(algorithm: DigestAlgorithm = 'sha256'): Promise<string> {
    this.#assertOpen();
    return this.#digestNow(algorithm);
  }

  #digestNow(algorithm: DigestAlgorithm): string {
    if (algorithm === 'sha256') return this.#state.digester.digest();
    return digestOf(Buffer.concat(this.#state.chunks), algorithm);
  }

  async commit(expected: { digest: string; size?: number }): Promise<BlobInfo> {
    const want = parseDigest(expected.digest);
    this.#assertOpen();
    if (this.#writing) throw new Fault('conflict', `ingest ${this.ref}: cannot commit while a write is in progress`);
    const size = this.#state.size;
    if (expected.size !== undefined && expected.size !== size) {
      this.#discard();
      throw new Fault('invalid-argument', `ingest ${this.ref}: size ${size} does not match expected ${expected.size}`, {
        code: 'SIZE_INVALID',
        detail: { expected: expected.size, actual: size },
      });
    }
    // No await between the checks and publishing: a write racing the commit finds the writer released.
    const actual = this.#digestNow(want.algorithm);
    if (actual !== want.value) {
      this.#discard();
      throw new Fault('invalid-argument', `ingest ${this.ref}: content digest ${actual} does not match ${want.value}`, {
        code: 'DIGEST_INVALID',
        detail: { expected: want.value, actual },
      });
    }
    this.#hooks.publish(want.value, Buffer.concat(this.#state.chunks));
    this.#hooks.drop();
    this.#release();
    return { digest: want.value, size };
  }

  async close(): Promise<void> {
    this.#stop();
  }

  async cancel(): Promise<void> {
    if (this.#open) this.#discard();
  }

  #stop(): void {
    if (!this.#open) return;
    this.#abort.abort(new Fault('conflict', `ingest ${this.ref} was closed during a write`));
    this.#release();
  }

  #discard(): void {
    this.#stop();
    this.#hooks.drop();
  }

  #release(): void {
    this.#open = false;
    this.#hooks.release();
  }

  #assertOpen(): void {
    if (!this.#open) throw new Fault('failed-precondition', `ingest ${this.ref} is no longer open`);
  }
}

function* slices(data: Buffer): Generator<Buffer> {
  for (let at = 0; at < data.byteLength; at += readChunk) yield data.subarray(at, at + readChunk);
}
