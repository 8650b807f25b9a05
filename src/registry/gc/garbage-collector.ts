import type { Logger } from '../../base/log.ts';
import type { GcIndex, GcManifest } from '../../meta/gc-index.ts';
import { parseManifest } from '../../oci/manifest.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobInfo, BlobStore, StoredBlobInfo } from '../../store/blob-store.ts';
import type { EngineRoots } from './engine-roots.ts';
import { untaggedManifests } from './untagged-manifests.ts';

export interface GarbageCollectorDeps {
  blobs: BlobStore;
  index: GcIndex;
  engine: Pick<EngineRoots, 'read' | 'changed'>;
  logger: Logger;
  now?: () => Date;
  /**
   * Keep what each manifest lists between runs (manifests are content-addressed, so it never goes stale; entries of
   * manifests gone from the rows are dropped at each mark): a mark then reads only new manifests' bodies. For a
   * collector that runs often, as the engine's releases do.
   */
  cacheListings?: boolean;
}

export interface CollectOptions {
  graceSeconds: number;
  /** Report what a real run would remove, and remove nothing. */
  dryRun?: boolean;
  /** First remove the manifests no tag reaches (see untaggedManifests). */
  deleteUntagged?: boolean;
  /** Called for each manifest and blob removed (or, in a dry run, that would be). */
  onManifest?: (manifest: GcManifest) => void;
  onBlob?: (blob: StoredBlobInfo) => void;
}

export interface CollectResult {
  manifests: number;
  blobs: number;
  bytes: number;
  /** Candidates a re-check kept: referenced or used while the collection ran. */
  kept: number;
  /** Blobs an interrupted collection had set aside, put back before this one. */
  recovered: number;
}

export interface ReleaseOptions {
  graceSeconds: number;
  /** Called for each blob removed. */
  onBlob?: (blob: BlobInfo) => void;
}

export interface ReleaseResult {
  blobs: number;
  bytes: number;
  /** Candidates no root named that stayed because they were used since the cutoff: a later release may free them. */
  recent: string[];
}

/** What the sweep did with one candidate. */
type Outcome = 'removed' | 'referenced' | 'recent';

// Manifests are small; a bigger one is not something this registry accepted.
const maxManifestBytes = 16 * 1024 * 1024;
// Manifest reads and candidate deletes in flight at once: file system latency, not CPU, bounds a collection.
const concurrency = 16;

/**
 * Online mark and sweep over the shared BlobStore. The rule that makes it safe while pushes and pulls run
 * (docs/architecture.md, "Garbage collection"): a blob is removed only if no root named it when marking, no
 * row names it when re-checked, and it was not used (committed or touched) since `start - grace`; every path
 * that makes a new reference to a stored blob touches it first, and `deleteUnused` yields to a touch.
 */
export class GarbageCollector {
  readonly #deps: GarbageCollectorDeps;
  /** Manifest digest -> what it lists, when `cacheListings`. */
  readonly #listings = new Map<string, string[]>();

  constructor(deps: GarbageCollectorDeps) {
    this.#deps = deps;
  }

  async collect(options: CollectOptions): Promise<CollectResult> {
    const { blobs, logger } = this.#deps;
    const cutoff = this.#cutoff(options.graceSeconds);
    const result: CollectResult = { manifests: 0, blobs: 0, bytes: 0, kept: 0, recovered: 0 };
    if (!options.dryRun) result.recovered = await blobs.recoverDeletes();
    const removed = options.deleteUntagged ? await this.#removeUntagged(cutoff, options, result) : new Set<string>();
    const marked = await this.#mark(removed);
    logger.debug({ marked: marked.size, cutoff }, 'gc: marked');
    const sweepBatch = async (batch: StoredBlobInfo[]) => {
      const outcomes = options.dryRun ? batch.map((): Outcome => 'removed') : await this.#sweepBatch(batch, cutoff, marked);
      // Reported in listing order, so a dry run reads the same.
      batch.forEach((blob, i) => {
        if (outcomes[i] !== 'removed') {
          result.kept++;
          return;
        }
        result.blobs++;
        result.bytes += blob.size;
        options.onBlob?.(blob);
      });
    };
    let batch: StoredBlobInfo[] = [];
    for await (const blob of blobs.list()) {
      if (marked.has(blob.digest) || blob.usedAt >= cutoff) continue;
      batch.push(blob);
      if (batch.length < concurrency) continue;
      await sweepBatch(batch);
      batch = [];
    }
    await sweepBatch(batch);
    return result;
  }

  /**
   * A targeted collection (the engine's `docker rmi` and prune): frees those of `digests` no root names, by the
   * same mark, re-check and cutoff as `collect`, without listing the store. Puts nothing back and removes no
   * manifest rows: that stays the full collection's work.
   */
  async release(digests: Iterable<string>, options: ReleaseOptions): Promise<ReleaseResult> {
    const cutoff = this.#cutoff(options.graceSeconds);
    const marked = await this.#mark(new Set());
    const candidates: BlobInfo[] = [];
    for (const digest of new Set(digests)) {
      const info = marked.has(digest) ? undefined : await this.#deps.blobs.stat(digest);
      if (info) candidates.push(info);
    }
    const result: ReleaseResult = { blobs: 0, bytes: 0, recent: [] };
    for (let i = 0; i < candidates.length; i += concurrency) {
      const batch = candidates.slice(i, i + concurrency);
      const outcomes = await this.#sweepBatch(batch, cutoff, marked);
      batch.forEach((blob, j) => {
        if (outcomes[j] === 'recent') result.recent.push(blob.digest);
        if (outcomes[j] !== 'removed') return;
        result.blobs++;
        result.bytes += blob.size;
        options.onBlob?.(blob);
      });
    }
    this.#deps.logger.debug({ candidates: candidates.length, ...result }, 'gc: released');
    return result;
  }

  #cutoff(graceSeconds: number): Date {
    return new Date((this.#deps.now?.() ?? new Date()).getTime() - graceSeconds * 1000);
  }

  /** Candidates in parallel, each still decided alone; outcomes in the batch's order. */
  async #sweepBatch(batch: BlobInfo[], cutoff: Date, marked: Set<string>): Promise<Outcome[]> {
    // The engine writes no rows to re-check: its files are read again when they changed since the mark.
    if (await this.#deps.engine.changed()) for (const root of await this.#deps.engine.read()) marked.add(root);
    return Promise.all(batch.map((blob) => this.#sweep(blob.digest, cutoff, marked)));
  }

  /** Removes one candidate after re-checking the rows and the engine's files. */
  async #sweep(digest: string, cutoff: Date, marked: Set<string>): Promise<Outcome> {
    if (marked.has(digest) || (await this.#deps.index.isReferenced(digest))) return 'referenced';
    return (await this.#deps.blobs.deleteUnused(digest, cutoff)) ? 'removed' : 'recent';
  }

  /** Keys (`repository@digest`) of the untagged manifests removed, or in a dry run those that would be. */
  async #removeUntagged(cutoff: Date, options: CollectOptions, result: CollectResult): Promise<Set<string>> {
    const { index } = this.#deps;
    const candidates = untaggedManifests(await index.manifests(), await index.children(), cutoff.toISOString());
    const key = (m: GcManifest) => `${m.repository}@${m.digest}`;
    const removed = new Set<string>(options.dryRun ? candidates.map(key) : []);
    // Parents before children and subjects before referrers: each pass removes what its re-check allows.
    let pending = options.dryRun ? [] : candidates;
    for (let progress = true; progress && pending.length > 0; ) {
      const left: GcManifest[] = [];
      for (const m of pending) {
        if (await index.deleteUntagged(m.repository, m.digest, cutoff.toISOString())) removed.add(key(m));
        else left.push(m);
      }
      progress = left.length < pending.length;
      pending = left;
    }
    // Reported in the candidates' order, so a dry run's lines and the real run's match one for one.
    for (const m of candidates.filter((c) => removed.has(key(c)))) {
      result.manifests++;
      options.onManifest?.(m);
    }
    return removed;
  }

  /** Every digest a root names: manifests (and what they list), v1 layers, the engine's images and containers. */
  async #mark(removed: Set<string>): Promise<Set<string>> {
    const { index, engine } = this.#deps;
    const marked = new Set<string>(await engine.read());
    for (const digest of await index.v1Layers()) marked.add(digest);
    const byDigest = new Map<string, GcManifest>();
    for (const m of await index.manifests()) if (!removed.has(`${m.repository}@${m.digest}`)) byDigest.set(m.digest, m);
    for (const digest of this.#listings.keys()) if (!byDigest.has(digest)) this.#listings.delete(digest);
    const pending = [...byDigest.values()];
    const worker = async () => {
      for (let manifest = pending.pop(); manifest; manifest = pending.pop()) {
        marked.add(manifest.digest);
        for (const digest of await this.#listedBy(manifest)) marked.add(digest);
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return marked;
  }

  /** The config, layers and blobs a stored manifest lists. */
  async #listedBy(manifest: GcManifest): Promise<string[]> {
    const cached = this.#listings.get(manifest.digest);
    if (cached) return cached;
    const { blobs, logger } = this.#deps;
    if (!(await blobs.stat(manifest.digest))) {
      logger.warn({ repository: manifest.repository, digest: manifest.digest }, 'gc: a manifest row has no blob');
      return [];
    }
    // A body that does not parse throws: the collection stops rather than guess what it references.
    const body = await readBlobBytes(blobs, manifest.digest, { limit: maxManifestBytes, what: `manifest ${manifest.digest}` });
    const parsed = parseManifest(body, manifest.mediaType);
    const listed = [...(parsed.config ? [parsed.config] : []), ...parsed.layers, ...parsed.blobs].map((d) => d.digest);
    if (this.#deps.cacheListings) this.#listings.set(manifest.digest, listed);
    return listed;
  }
}
