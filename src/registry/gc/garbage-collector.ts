import type { Logger } from '../../base/log.ts';
import type { GcIndex, GcManifest } from '../../meta/gc-index.ts';
import { parseManifest } from '../../oci/manifest.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore, StoredBlobInfo } from '../../store/blob-store.ts';
import type { EngineRoots } from './engine-roots.ts';
import { untaggedManifests } from './untagged-manifests.ts';

export interface GarbageCollectorDeps {
  blobs: BlobStore;
  index: GcIndex;
  engine: Pick<EngineRoots, 'read' | 'changed'>;
  logger: Logger;
  now?: () => Date;
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

  constructor(deps: GarbageCollectorDeps) {
    this.#deps = deps;
  }

  async collect(options: CollectOptions): Promise<CollectResult> {
    const { blobs, logger } = this.#deps;
    const cutoff = new Date((this.#deps.now?.() ?? new Date()).getTime() - options.graceSeconds * 1000);
    const result: CollectResult = { manifests: 0, blobs: 0, bytes: 0, kept: 0, recovered: 0 };
    if (!options.dryRun) result.recovered = await blobs.recoverDeletes();
    const removed = options.deleteUntagged ? await this.#removeUntagged(cutoff, options, result) : new Set<string>();
    const marked = await this.#mark(removed);
    logger.debug({ marked: marked.size, cutoff }, 'gc: marked');
    let batch: StoredBlobInfo[] = [];
    for await (const blob of blobs.list()) {
      if (marked.has(blob.digest) || blob.usedAt >= cutoff) continue;
      batch.push(blob);
      if (batch.length < concurrency) continue;
      await this.#sweepBatch(batch, cutoff, marked, options, result);
      batch = [];
    }
    await this.#sweepBatch(batch, cutoff, marked, options, result);
    return result;
  }

  /** Candidates in parallel (each still decided alone), reported in listing order so a dry run reads the same. */
  async #sweepBatch(batch: StoredBlobInfo[], cutoff: Date, marked: Set<string>, options: CollectOptions, result: CollectResult): Promise<void> {
    // The engine writes no rows to re-check: its files are read again when they changed since the mark.
    if (!options.dryRun && (await this.#deps.engine.changed())) for (const root of await this.#deps.engine.read()) marked.add(root);
    const removed = options.dryRun ? batch.map(() => true) : await Promise.all(batch.map((blob) => this.#sweep(blob.digest, cutoff, marked)));
    batch.forEach((blob, i) => {
      if (!removed[i]) {
        result.kept++;
        return;
      }
      result.blobs++;
      result.bytes += blob.size;
      options.onBlob?.(blob);
    });
  }

  /** Removes one candidate after re-checking the rows and the engine's files; false when it stays. */
  async #sweep(digest: string, cutoff: Date, marked: Set<string>): Promise<boolean> {
    if (marked.has(digest) || (await this.#deps.index.isReferenced(digest))) return false;
    return this.#deps.blobs.deleteUnused(digest, cutoff);
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
    const { blobs, logger } = this.#deps;
    if (!(await blobs.stat(manifest.digest))) {
      logger.warn({ repository: manifest.repository, digest: manifest.digest }, 'gc: a manifest row has no blob');
      return [];
    }
    // A body that does not parse throws: the collection stops rather than guess what it references.
    const body = await readBlobBytes(blobs, manifest.digest, { limit: maxManifestBytes, what: `manifest ${manifest.digest}` });
    const parsed = parseManifest(body, manifest.mediaType);
    return [...(parsed.config ? [parsed.config] : []), ...parsed.layers, ...parsed.blobs].map((d) => d.digest);
  }
}
