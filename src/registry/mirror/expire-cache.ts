import type { Config } from '../../base/config.ts';
import type { Logger } from '../../base/log.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { MirrorStore } from '../../meta/mirror-store.ts';
import { parseManifest } from '../../oci/manifest.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore } from '../../store/blob-store.ts';

export interface ExpireCacheDeps {
  meta: MetadataStore;
  mirror: MirrorStore;
  /** Where the manifests' bodies are read from, to learn which blobs they name. */
  blobs: BlobStore;
  /** Cached manifests last pulled before this go. */
  cutoff: Date;
  logger: Logger;
  /** Use rows read at once; the default suits any cache. */
  batchSize?: number;
}

export interface ExpireCacheResult {
  manifests: number;
  tags: number;
  /** Blob links removed: blobs of a repository no manifest kept there names. */
  unlinked: number;
}

const defaultBatchSize = 500;
// As the collector's bound: no stored manifest is bigger (putManifest and putCachedManifest refuse one).
const maxManifestBytes = 16 * 1024 * 1024;

/**
 * The cut-off of `registry.proxy.expiry` at `now`, or undefined when there is nothing to expire: no upstream
 * configured (the registry caches nothing) or `unusedDays` 0 (keep forever).
 */
export function cacheExpiryCutoff(proxy: Config['registry']['proxy'], now: Date): Date | undefined {
  const caching = proxy.remoteUrl !== '' || proxy.upstreams.length > 0;
  if (!caching || proxy.expiry.unusedDays === 0) return undefined;
  return new Date(now.getTime() - proxy.expiry.unusedDays * 86_400_000);
}

/**
 * `registry.proxy.expiry` as the task run before each scheduled collection, or undefined when nothing can expire.
 * A failure is logged here and not thrown: the collection (and retention beside it) runs regardless.
 */
export function scheduledCacheExpiry(
  proxy: Config['registry']['proxy'],
  deps: Omit<ExpireCacheDeps, 'cutoff'> & { now?: () => Date },
): (() => Promise<void>) | undefined {
  const now = deps.now ?? (() => new Date());
  if (!cacheExpiryCutoff(proxy, now())) return undefined;
  return async () => {
    const cutoff = cacheExpiryCutoff(proxy, now());
    if (cutoff) await expireCache({ ...deps, cutoff }).catch((err: unknown) => deps.logger.warn({ err }, 'mirror: cache expiry failed'));
  };
}

/**
 * The cache's expiry, run before a garbage collection: cached manifests not pulled since `cutoff` are deleted with
 * their tags, then each blob they named is unlinked from its repository unless a manifest kept there names it.
 * Blob links are not roots of the collection (manifests are): the next collection frees what no manifest anywhere
 * names; the unlinking keeps a repository from claiming a blob it no longer holds. Only manifests written as
 * cached have use rows, so pushed content is never touched. A manifest pulled between the listing and its
 * deletion goes anyway: the cache fetches it again on the next pull.
 */
export async function expireCache(deps: ExpireCacheDeps): Promise<ExpireCacheResult> {
  const result: ExpireCacheResult = { manifests: 0, tags: 0, unlinked: 0 };
  // Repository -> the blobs its deleted manifests named.
  const named = new Map<string, Set<string>>();
  for (;;) {
    const batch = await deps.mirror.unusedSince(deps.cutoff, deps.batchSize ?? defaultBatchSize);
    if (batch.length === 0) break;
    for (const { repository, digest } of batch) {
      const blobs = await expireManifest(deps, repository, digest, result);
      if (blobs.length > 0) named.set(repository, new Set([...(named.get(repository) ?? []), ...blobs]));
      // The deletion took the use row with it; a row whose manifest could not be read goes too, so the loop ends.
      await deps.mirror.forget(repository, digest);
    }
  }
  for (const [repository, candidates] of named) result.unlinked += await unlinkUnnamed(deps, repository, candidates);
  deps.logger.info({ ...result, cutoff: deps.cutoff.toISOString() }, 'mirror: expired unused cached content');
  return result;
}

/** Deletes one cached manifest and its tags; answers the blobs it named (read before, as the row goes). */
async function expireManifest(deps: ExpireCacheDeps, repository: string, digest: string, result: ExpireCacheResult): Promise<string[]> {
  const record = await deps.meta.getManifest(repository, digest);
  if (!record) return [];
  const blobs = await listedBlobs(deps, digest, record.mediaType);
  const tags = await deps.meta.tagsOf(repository, digest);
  if (!(await deps.meta.deleteManifest(repository, digest))) return [];
  result.manifests++;
  result.tags += tags.length;
  deps.logger.debug({ repository, digest, tags }, 'mirror: cached manifest expired');
  return blobs ?? [];
}

/** Unlinks the candidates no manifest left in the repository names; none when one of those cannot be read. */
async function unlinkUnnamed(deps: ExpireCacheDeps, repository: string, candidates: Set<string>): Promise<number> {
  const kept = new Set<string>();
  for (const manifest of await deps.meta.listManifests(repository)) {
    const blobs = await listedBlobs(deps, manifest.digest, manifest.mediaType);
    // Not knowing what a kept manifest names, unlinking could take a blob it needs: leave the links.
    if (!blobs) return 0;
    for (const blob of blobs) kept.add(blob);
  }
  let unlinked = 0;
  for (const digest of candidates) {
    if (!kept.has(digest) && (await deps.meta.unlinkBlob(repository, digest))) unlinked++;
  }
  return unlinked;
}

/** The config, layers and blobs a stored manifest lists, as the collector reads them; undefined when unreadable. */
async function listedBlobs(deps: ExpireCacheDeps, digest: string, mediaType: string): Promise<string[] | undefined> {
  try {
    const body = await readBlobBytes(deps.blobs, digest, { limit: maxManifestBytes, what: `manifest ${digest}` });
    const parsed = parseManifest(body, mediaType);
    return [...(parsed.config ? [parsed.config] : []), ...parsed.layers, ...parsed.blobs].map((d) => d.digest);
  } catch (err) {
    deps.logger.warn({ err, digest }, 'mirror: a cached manifest could not be read; its blob links stay');
    return undefined;
  }
}
