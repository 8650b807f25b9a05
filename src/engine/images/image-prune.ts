/*
 * docker image prune and docker builder prune over the image service. Image prune follows moby's ImagePrune;
 * the classic builder's cache is its step images (records with a build key), so builder prune removes those.
 */
import { isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { ImageConfig } from './image-config.ts';
import type { DeleteRecord } from './image-delete.ts';
import type { ImageService } from './image-service.ts';
import type { ImageRecord } from './image-store.ts';

export interface ImagePruneOptions {
  /** moby's default: only dangling images (untagged, no children); false for `docker image prune -a`. */
  danglingOnly: boolean;
  /** Keeps images created at or after this time (ms since the epoch). */
  until?: number;
  /** The label filters (`label`, `label!`) as a predicate over the image's labels. */
  labels?: (labels: Record<string, string> | null | undefined) => boolean;
  logger: Logger;
}

export interface ImagePruneReport {
  deleted: DeleteRecord[];
  reclaimed: number;
}

/**
 * moby's ImagePrune: the head images (dangling ones by default, every one with -a) that are not intermediate,
 * each deleted by its references (only reference-less or digest-only ones when dangling) or by ID, parents
 * pruned along; an image a container uses stays (its delete conflicts). Reclaimed space is the deleted layers'.
 */
export async function pruneImages(images: ImageService, options: ImagePruneOptions): Promise<ImagePruneReport> {
  const store = images.store;
  const sizes = layerSizes(store.list());
  const chosen: ImageRecord[] = [];
  for (const image of store.list()) {
    if (options.danglingOnly && store.children(image.id).length) continue;
    if (store.isIntermediate(image.id)) continue;
    const config = await store.config(image.id);
    if (options.until !== undefined && !(createdMs(config) < options.until)) continue;
    if (options.labels && !options.labels(config.config?.Labels)) continue;
    chosen.push(image);
  }
  const deleted: DeleteRecord[] = [];
  const freed = new Set<string>();
  for (const image of chosen) {
    const refs = store.get(image.id) ? store.references(image.id) : [];
    const tagged = refs.some((r) => !r.includes('@'));
    const names = refs.length ? (options.danglingOnly && tagged ? [] : refs) : store.get(image.id) ? [image.id.slice('sha256:'.length)] : [];
    for (const name of names) deleted.push(...(await quietly(images.remove(name, { prune: true }, freed), name, options.logger)));
  }
  // One targeted collection for every image pruned.
  await images.releaseBlobs(freed);
  return { deleted, reclaimed: reclaimedBy(deleted, sizes) };
}

export interface BuildCachePruneOptions {
  /** `docker builder prune -a`: also the step images that tagged images descend from (the whole cache). */
  all: boolean;
  until?: number;
  /** Bytes of cache to keep (`keep-storage`, `reserved-space`): the oldest entries go first. */
  keep?: number;
  logger: Logger;
}

export interface BuildCachePruneReport {
  deleted: string[];
  reclaimed: number;
}

/**
 * The classic builder's cache is its untagged step images. By default only those no other image needs go (the
 * leftovers of earlier builds: every image descending from them is cache that goes too); with `all` also the
 * intermediate images of tagged builds, which then lose their parent link and build key (their layers stay).
 * Images a container uses, and tagged ones, are never cache. `until` picks the entries first, so a child it keeps
 * keeps its parent; `keep` then stops the deletion, which goes from the leaves up.
 */
export async function pruneBuildCache(images: ImageService, options: BuildCachePruneOptions): Promise<BuildCachePruneReport> {
  const store = images.store;
  const sizes = layerSizes(store.list());
  const cache = new Set(store.list().filter((i) => i.buildKey && !store.references(i.id).length && !images.isUsed(i.id)).map((i) => i.id));
  const created = new Map<string, number>();
  for (const id of cache) created.set(id, createdMs(await store.config(id)));
  if (options.until !== undefined) for (const id of cache) if (!(created.get(id)! < options.until)) cache.delete(id);
  if (!options.all) for (const id of [...cache]) if (!onlyCacheBelow(store, cache, id, new Set())) cache.delete(id);
  let kept = [...cache].reduce((sum, id) => sum + topLayerSize(store, id), 0);
  const records: DeleteRecord[] = [];
  const deleted: string[] = [];
  const freed = new Set<string>();
  for (const id of leavesFirst(store, cache, created)) {
    if (options.keep !== undefined && kept <= options.keep) break;
    kept -= topLayerSize(store, id);
    // A child that could not go (a failed delete) still needs its parent, unless the whole cache goes.
    if (!options.all && store.children(id).length) continue;
    const removed = await quietly(images.forget(id, freed), id, options.logger);
    if (removed.length) deleted.push(id);
    records.push(...removed);
  }
  await images.releaseBlobs(freed);
  return { deleted, reclaimed: reclaimedBy(records, sizes) };
}

/** True when every image descending from `id` is in `cache` (`seen` stops a walk round a ring of links). */
function onlyCacheBelow(store: ImageService['store'], cache: Set<string>, id: string, seen: Set<string>): boolean {
  seen.add(id);
  return store.children(id).every((child) => cache.has(child) && (seen.has(child) || onlyCacheBelow(store, cache, child, seen)));
}

/** Oldest leaves first: an image goes only after the cache images made from it. */
function leavesFirst(store: ImageService['store'], cache: Set<string>, created: Map<string, number>): string[] {
  const order: string[] = [];
  const left = new Set(cache);
  while (left.size) {
    const leaves = [...left].filter((id) => !store.children(id).some((c) => left.has(c))).sort((a, b) => created.get(a)! - created.get(b)!);
    // Only a ring of links has no leaf: take it whole rather than loop.
    if (!leaves.length) leaves.push(...left);
    for (const id of leaves) left.delete(id);
    order.push(...leaves);
  }
  return order;
}

/** moby's imageDeleteFailed: a conflict (or any failure, logged) skips the image. */
async function quietly(removing: Promise<DeleteRecord[]>, name: string, logger: Logger): Promise<DeleteRecord[]> {
  try {
    return await removing;
  } catch (err) {
    if (!isFault(err, 'conflict') && !isFault(err, 'not-found')) logger.warn({ err, image: name }, 'failed to prune image');
    return [];
  }
}

function layerSizes(records: ImageRecord[]): Map<string, number> {
  return new Map(records.flatMap((i) => i.layers.map((l) => [l.chainId, l.size] as const)));
}

function reclaimedBy(records: DeleteRecord[], sizes: Map<string, number>): number {
  return records.reduce((sum, r) => sum + ('Deleted' in r ? (sizes.get(r.Deleted) ?? 0) : 0), 0);
}

/** The layer an image adds over its parent (none for a metadata step). */
function topLayerSize(store: ImageService['store'], id: string): number {
  const image = store.get(id);
  const parent = image?.parent ? store.get(image.parent) : undefined;
  return image && image.layers.length > (parent?.layers.length ?? 0) ? (image.layers.at(-1)?.size ?? 0) : 0;
}

function createdMs(config: ImageConfig): number {
  const ms = config.created ? Date.parse(config.created) : NaN;
  return Number.isNaN(ms) ? 0 : ms;
}
