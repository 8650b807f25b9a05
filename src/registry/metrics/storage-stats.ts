import type { BlobStore } from '../../store/blob-store.ts';
import type { StorageStats } from './registry-metrics.ts';

export interface StorageStatsOptions {
  /** A walk's result is reused this long; 0 walks again for every read that does not join a walk in progress. */
  cacheSeconds: number;
  now?: () => number;
}

/**
 * Blob count and bytes from a walk of `BlobStore.list()`, reused for `cacheSeconds` and shared by concurrent
 * readers, so a scrape costs at most one walk however often Prometheus asks. A walk is one stat per blob: at
 * 50,000 blobs that is well under a second, never on a request path.
 */
export function storageStats(blobs: Pick<BlobStore, 'list'>, options: StorageStatsOptions): () => Promise<StorageStats> {
  const now = options.now ?? Date.now;
  let cached: { at: number; stats: StorageStats } | undefined;
  let walking: Promise<StorageStats> | undefined;
  const walk = async () => {
    const started = now();
    const stats: StorageStats = { blobs: 0, bytes: 0 };
    for await (const blob of blobs.list()) {
      stats.blobs++;
      stats.bytes += blob.size;
    }
    cached = { at: started, stats };
    return stats;
  };
  return () => {
    if (cached && now() - cached.at < options.cacheSeconds * 1000) return Promise.resolve(cached.stats);
    walking ??= walk().finally(() => (walking = undefined));
    return walking;
  };
}
