export interface ManifestCacheLimits {
  /** Bytes held at most, all entries together (LRU beyond). */
  maxBytes: number;
  /** A body larger than this is not kept: reading it again costs less than pinning it. */
  maxEntryBytes: number;
}

// Measured (issue 8): with 64 MiB held and no entry cap, a burst of 3.5 MiB manifests left the registry 165 MiB
// over its idle RSS. Hot manifests and indexes are kilobytes; 16 MiB holds thousands of them.
const defaultLimits: ManifestCacheLimits = { maxBytes: 16 * 1024 * 1024, maxEntryBytes: 256 * 1024 };

/** Manifest bytes by digest. Content-addressed, so entries never go stale; bounded by total bytes (LRU). */
export class ManifestCache {
  readonly #limits: ManifestCacheLimits;
  #bytes = 0;
  readonly #entries = new Map<string, Buffer>();

  constructor(limits: Partial<ManifestCacheLimits> = {}) {
    this.#limits = { ...defaultLimits, ...limits };
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get(digest: string): Buffer | undefined {
    const body = this.#entries.get(digest);
    if (body) {
      this.#entries.delete(digest);
      this.#entries.set(digest, body);
    }
    return body;
  }

  set(digest: string, body: Buffer): void {
    if (body.length > this.#limits.maxEntryBytes || body.length > this.#limits.maxBytes || this.#entries.has(digest)) return;
    // A view into a larger allocation (a pooled or concatenated buffer) would pin all of it: keep an exact copy.
    const own = body.byteOffset === 0 && body.buffer.byteLength === body.length ? body : exactCopy(body);
    this.#entries.set(digest, own);
    this.#bytes += own.length;
    for (const [key, value] of this.#entries) {
      if (this.#bytes <= this.#limits.maxBytes) break;
      this.#entries.delete(key);
      this.#bytes -= value.length;
    }
  }

  delete(digest: string): void {
    const body = this.#entries.get(digest);
    if (!body) return;
    this.#entries.delete(digest);
    this.#bytes -= body.length;
  }
}

function exactCopy(body: Buffer): Buffer {
  const copy = Buffer.allocUnsafeSlow(body.length);
  body.copy(copy);
  return copy;
}
