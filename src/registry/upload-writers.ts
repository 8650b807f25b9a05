import { Fault } from '../base/fault.ts';
import type { Logger } from '../base/log.ts';
import type { BlobStore, BlobWriter } from '../store/blob-store.ts';

export interface UploadWritersOptions {
  blobs: BlobStore;
  logger: Logger;
  /** Writers kept open at most; the least recently used idle one is closed beyond it. */
  maxOpen?: number;
  /** A writer idle this long is closed (its bytes stay; the next request resumes the ingest). */
  idleMs?: number;
  now?: () => number;
  /**
   * Close each writer when its request ends (its bytes stay): replicas on one database, where the next PATCH or
   * PUT of the upload may reach another replica, which must be able to take the ingest lock. The price is one
   * re-hash of the bytes so far at the start of each later request (docs/architecture.md, "Replicas").
   */
  releaseAfterUse?: boolean;
}

interface Entry {
  /** Undefined while the first request is still opening the ingest. */
  writer: BlobWriter | undefined;
  busy: boolean;
  lastUsed: number;
}

/**
 * Open ingest writers by upload id, kept between PATCH requests because reopening an ingest re-hashes what it
 * holds. Bounded: abandoned uploads must not pin file descriptors forever. One request at a time per upload.
 */
export class UploadWriters {
  readonly #blobs: BlobStore;
  readonly #logger: Logger;
  readonly #maxOpen: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #releaseAfterUse: boolean;
  readonly #entries = new Map<string, Entry>();

  constructor(options: UploadWritersOptions) {
    this.#blobs = options.blobs;
    this.#logger = options.logger;
    this.#maxOpen = options.maxOpen ?? 256;
    this.#idleMs = options.idleMs ?? 10 * 60 * 1000;
    this.#now = options.now ?? Date.now;
    this.#releaseAfterUse = options.releaseAfterUse ?? false;
  }

  /** Bytes received so far by an open writer, undefined when none is open (or still opening) for `id`. */
  offset(id: string): number | undefined {
    return this.#entries.get(id)?.writer?.offset;
  }

  /**
   * Runs `work` with the upload's writer, opening (or resuming) the ingest when needed. `done` tells whether the
   * writer was released by `work` (commit or cancel), so it is forgotten rather than kept for the next request.
   */
  async use<T>(id: string, work: (writer: BlobWriter, done: () => void) => Promise<T>): Promise<T> {
    const { entry, writer } = await this.#lease(id);
    let released = false;
    try {
      return await work(writer, () => {
        released = true;
      });
    } finally {
      entry.busy = false;
      entry.lastUsed = this.#now();
      if (released || this.#releaseAfterUse) this.#entries.delete(id);
      if (!released && this.#releaseAfterUse) await this.#closeQuietly(writer);
    }
  }

  /** Releases the writer of an upload that is being cancelled; false when none was open. */
  async cancel(id: string): Promise<boolean> {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    if (entry.busy) throw busy(id);
    this.#entries.delete(id);
    await entry.writer?.cancel();
    return true;
  }

  /** Closes every writer, keeping the bytes for a resume after restart. */
  async close(): Promise<void> {
    const entries = [...this.#entries.values()];
    this.#entries.clear();
    await Promise.all(entries.map((e) => this.#closeQuietly(e.writer)));
  }

  async #lease(id: string): Promise<{ entry: Entry; writer: BlobWriter }> {
    const entry = this.#entries.get(id);
    if (entry?.busy) throw busy(id);
    if (entry?.writer) {
      entry.busy = true;
      // Re-insert: Map order is the LRU order.
      this.#entries.delete(id);
      this.#entries.set(id, entry);
      return { entry, writer: entry.writer };
    }
    // Claim the slot before the first await, so a racing request for the same id finds it busy.
    const opening: Entry = { writer: undefined, busy: true, lastUsed: this.#now() };
    this.#entries.set(id, opening);
    try {
      await this.#evict();
      opening.writer = await this.#blobs.ingest(id);
    } catch (err) {
      this.#entries.delete(id);
      throw err;
    }
    return { entry: opening, writer: opening.writer };
  }

  async #evict(): Promise<void> {
    const now = this.#now();
    const victims: Entry[] = [];
    // The slot being opened is counted: after eviction the open writers fit the bound.
    let open = this.#entries.size - 1;
    for (const [id, entry] of this.#entries) {
      if (entry.busy) continue;
      if (now - entry.lastUsed < this.#idleMs && open < this.#maxOpen) continue;
      this.#entries.delete(id);
      victims.push(entry);
      open--;
    }
    await Promise.all(victims.map((e) => this.#closeQuietly(e.writer)));
  }

  async #closeQuietly(writer: BlobWriter | undefined): Promise<void> {
    await writer?.close().catch((err: unknown) => this.#logger.warn({ err, ref: writer?.ref }, 'closing upload writer'));
  }
}

function busy(id: string): Fault {
  return new Fault('conflict', `upload ${id} is busy with another request`, { code: 'BLOB_UPLOAD_INVALID', detail: { uuid: id } });
}
