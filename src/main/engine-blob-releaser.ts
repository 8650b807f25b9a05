import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import type { BlobReleaser } from '../engine/images/blob-releaser.ts';
import type { GcIndex } from '../meta/gc-index.ts';
import { BlobReleaseQueue } from '../registry/gc/blob-release-queue.ts';
import { EngineRoots } from '../registry/gc/engine-roots.ts';
import { GarbageCollector } from '../registry/gc/garbage-collector.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { type OpenedMeta, openMeta } from './open-meta.ts';

export interface EngineBlobReleaserDeps {
  config: Config;
  blobs: BlobStore;
  /** The metadata's GcIndex when this process has it open already (the registry in the same process). */
  gc?: GcIndex;
  logger: Logger;
}

/**
 * What `docker rmi` and prune free through: the registry's collector (a targeted release) over the root's
 * metadata, the engine's files and the shared BlobStore. Under `wharf serve` the engine runs in a process of its
 * own: it opens the metadata (openMeta: SQLite meta.db or PostgreSQL) at its first release, not at start, so it
 * never races the registry's migrations.
 */
export function engineBlobReleaser(deps: EngineBlobReleaserDeps): BlobReleaser & { close(): Promise<void> } {
  const { config, blobs, logger } = deps;
  let opened: OpenedMeta | undefined;
  const index = lazyGcIndex(async () => deps.gc ?? (opened = await openMeta(config)).gc);
  const collector = new GarbageCollector({ blobs, index, engine: new EngineRoots(config.root), logger, cacheListings: true });
  const queue = new BlobReleaseQueue({ collector, graceSeconds: config.registry.gc.gracePeriodSeconds, logger });
  return {
    release: (digests) => queue.release(digests),
    close: async () => {
      await queue.close();
      await opened?.close();
    },
  };
}

/** A GcIndex opened at its first call; a failed open (the database down) is tried again at the next call. */
export function lazyGcIndex(open: () => Promise<GcIndex>): GcIndex {
  let index: Promise<GcIndex> | undefined;
  const get = () => (index ??= open().catch((err: unknown) => {
    index = undefined;
    throw err;
  }));
  return {
    manifests: async () => (await get()).manifests(),
    children: async () => (await get()).children(),
    v1Layers: async () => (await get()).v1Layers(),
    isReferenced: async (digest) => (await get()).isReferenced(digest),
    deleteUntagged: async (repository, digest, createdBefore) => (await get()).deleteUntagged(repository, digest, createdBefore),
  };
}
