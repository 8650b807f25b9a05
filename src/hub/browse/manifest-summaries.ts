/** A tag's row, and the header of a manifest's page (src/web/api-types.ts TagRow). */
export interface ManifestSummary {
  /** Bytes of the manifest and every blob it names, each digest counted once (an index: with its children's). */
  size: number;
  /** The config's `created`, for an index the newest of its children's, else when the manifest was pushed. */
  created: string;
  platforms: string[];
  /** Set when some children were not read (beyond manifest-summary.ts's `maxSummarizedChildren`, or the request's budget ran out). */
  partial?: true;
}

// Summaries kept: each is a few numbers and at most 64 platforms (summarizeManifest keeps no larger one).
const defaultMaxEntries = 2048;

/**
 * Summaries of complete reads (every child held, no read refused by a request's budget), by repository and digest:
 * a manifest is content-addressed, so one never goes stale while what the repository holds of it stays (a child a
 * pull-through cache has not fetched yet makes the summary incomplete, and so not kept). A bounded LRU.
 */
export class ManifestSummaries {
  readonly #entries = new Map<string, ManifestSummary>();
  readonly #maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? defaultMaxEntries;
  }

  get(repository: string, digest: string): ManifestSummary | undefined {
    const key = `${repository}@${digest}`;
    const summary = this.#entries.get(key);
    if (summary) {
      this.#entries.delete(key);
      this.#entries.set(key, summary);
    }
    return summary;
  }

  set(repository: string, digest: string, summary: ManifestSummary): void {
    const key = `${repository}@${digest}`;
    this.#entries.delete(key);
    this.#entries.set(key, summary);
    if (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}
