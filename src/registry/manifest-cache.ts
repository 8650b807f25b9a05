/** Manifest bytes by digest. Content-addressed, so entries never go stale; bounded by total bytes (LRU). */
export class ManifestCache {
  readonly #maxBytes: number;
  #bytes = 0;
  readonly #entries = new Map<string, Buffer>();

  constructor(maxBytes = 64 * 1024 * 1024) {
    this.#maxBytes = maxBytes;
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
    if (body.length > this.#maxBytes || this.#entries.has(digest)) return;
    this.#entries.set(digest, body);
    this.#bytes += body.length;
    for (const [key, value] of this.#entries) {
      if (this.#bytes <= this.#maxBytes) break;
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
