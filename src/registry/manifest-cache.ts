export interface ManifestCacheLimits {
  /** Bytes held at most, all entries together (LRU beyond). */
  maxBytes: number;
  /** A body larger than this is not kept: reading it again costs less than pinning it. */
  maxEntryBytes: number;
}

// Measured (issue 8): with 64 MiB held and no entry cap, a burst of 3.5 MiB manifests left the registry 165 MiB
// over its idle RSS. Hot manifests and indexes are kilobytes; 16 MiB holds thousands of them.
const defaultLimits: ManifestCacheLimits = { maxBytes: 16 * 1024 * 1024, maxEntryBytes: 256 * 1024 };

interface Entry {
  body: Buffer;
  /** Read since the eviction sweep last passed it (second chance). */
  used: boolean;
}

/**
 * Manifest bytes by digest. Content-addressed, so entries never go stale; bounded by total bytes. Eviction is
 * second-chance (CLOCK), not strict LRU: a hit only sets a flag. Reordering the Map on every hit (delete + set)
 * made V8 reallocate the Map's table every few GETs, and each table, held by the long-lived cache, was promoted:
 * under a manifest GET load that was the largest share of the garbage piling up in the old generation.
 */
export class ManifestCache {
  readonly #limits: ManifestCacheLimits;
  #bytes = 0;
  readonly #entries = new Map<string, Entry>();

  constructor(limits: Partial<ManifestCacheLimits> = {}) {
    this.#limits = { ...defaultLimits, ...limits };
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get(digest: string): Buffer | undefined {
    const entry = this.#entries.get(digest);
    if (!entry) return undefined;
    entry.used = true;
    return entry.body;
  }

  set(digest: string, body: Buffer): void {
    if (body.length > this.#limits.maxEntryBytes || body.length > this.#limits.maxBytes || this.#entries.has(digest)) return;
    // A view into a larger allocation (a pooled or concatenated buffer) would pin all of it: keep an exact copy.
    const own = body.byteOffset === 0 && body.buffer.byteLength === body.length ? body : exactCopy(body);
    this.#entries.set(digest, { body: own, used: false });
    this.#bytes += own.length;
    this.#evict(digest);
  }

  delete(digest: string): void {
    const entry = this.#entries.get(digest);
    if (!entry) return;
    this.#entries.delete(digest);
    this.#bytes -= entry.body.length;
  }

  /** Oldest first: an entry read since the last sweep moves to the back once, the first one not read goes. */
  #evict(added: string): void {
    for (const [key, entry] of this.#entries) {
      if (this.#bytes <= this.#limits.maxBytes) return;
      if (key === added) continue;
      this.#entries.delete(key);
      if (entry.used) {
        // Re-inserted at the end, where this same loop meets it again, unflagged, if all others were read too.
        entry.used = false;
        this.#entries.set(key, entry);
      } else {
        this.#bytes -= entry.body.length;
      }
    }
  }
}

function exactCopy(body: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(body.length);
  body.copy(copy);
  return copy;
}
