import type { ManifestRecord } from '../../meta/metadata-store.ts';
import { isIndexMediaType } from '../../oci/media-types.ts';
import { type ManifestShape, platformName, type StoredDescriptor, type StoredImageConfig } from './stored-json.ts';
import type { ManifestSummaries, ManifestSummary } from './manifest-summaries.ts';
import type { StoredManifests } from './stored-manifests.ts';

/** Distinct children of an index read for its size and `created`; the others count their index entry's size. */
export const maxSummarizedChildren = 64;
/** A child's config is read for its `created` only up to this size (a tag row is a line, not the image's page). */
export const summaryConfigBytes = 256 * 1024;
// Children read at once (each: its manifest, then its config).
const concurrentChildren = 8;

/**
 * Summarises a stored manifest, from `summaries` when a complete read of it is there. An index's platforms are its
 * entries' `platform` fields; its distinct children (the first `maxSummarizedChildren`) are read one level deep for
 * sizes and `created` (a child that is itself an index counts its own bytes only); children not read, or not held
 * here, count their descriptor's size.
 */
export async function summarizeManifest(stored: StoredManifests, record: ManifestRecord, summaries: ManifestSummaries, shape?: ManifestShape): Promise<ManifestSummary> {
  const cached = summaries.get(stored.repository, record.digest);
  if (cached) return cached;
  const { summary, complete } = await readSummary(stored, record, shape ?? (await stored.shape(record.digest)));
  // An index naming thousands of platforms is summarised anew each time: what the cache holds stays small.
  if (complete && !stored.refused && summary.platforms.length <= maxSummarizedChildren) summaries.set(stored.repository, record.digest, summary);
  return summary;
}

async function readSummary(stored: StoredManifests, record: ManifestRecord, own: ManifestShape): Promise<{ summary: ManifestSummary; complete: boolean }> {
  const sizes = new Map<string, number>([[record.digest, record.size]]);
  if (isIndexMediaType(record.mediaType) || own.manifests.length > 0) return summarizeIndex(stored, record, own, sizes);
  const config = await stored.config(own.config);
  addImageBlobs(sizes, own);
  const platform = config && platformName(config);
  const summary = { size: total(sizes), created: createdAt(config) ?? record.createdAt, platforms: platform ? [platform] : [] };
  return { summary, complete: config !== undefined || own.config === undefined };
}

async function summarizeIndex(stored: StoredManifests, record: ManifestRecord, index: ManifestShape, sizes: Map<string, number>) {
  const distinct = [...new Map(index.manifests.map((child) => [child.digest, child])).values()];
  for (const child of distinct) sizes.set(child.digest, child.size);
  const created: string[] = [];
  let held = true;
  await eachBounded(distinct.slice(0, maxSummarizedChildren), concurrentChildren, async (child) => {
    const read = await readChild(stored, child);
    if (!read) return void (held = false);
    addImageBlobs(sizes, read.shape);
    const at = createdAt(read.config);
    if (at) created.push(at);
  });
  const platforms = [...new Set(index.manifests.flatMap((child) => childPlatform(child) ?? []))];
  const partial = distinct.length > maxSummarizedChildren || stored.refused;
  const summary: ManifestSummary = { size: total(sizes), created: created.sort().at(-1) ?? record.createdAt, platforms, ...(partial ? { partial: true as const } : {}) };
  return { summary, complete: held };
}

/** A child's manifest and (small) config; undefined when the repository does not hold it or the budget is spent. */
async function readChild(stored: StoredManifests, child: StoredDescriptor): Promise<{ shape: ManifestShape; config?: StoredImageConfig } | undefined> {
  const record = await stored.record(child.digest);
  if (!record || !stored.take(record.size)) return undefined;
  const shape = await stored.shape(child.digest);
  return { shape, config: await stored.config(shape.config, summaryConfigBytes) };
}

async function eachBounded<T>(items: T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await work(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/**
 * The platform an index entry runs on; undefined for entries that are not images to run: buildx's attestation
 * manifests (`unknown/unknown`, annotated as such) and entries without a platform.
 */
export function childPlatform(child: StoredDescriptor): string | undefined {
  if (child.annotations?.['vnd.docker.reference.type'] === 'attestation-manifest') return undefined;
  const name = child.platform && platformName(child.platform);
  return name === 'unknown/unknown' ? undefined : name;
}

function addImageBlobs(sizes: Map<string, number>, shape: ManifestShape): void {
  if (shape.config) sizes.set(shape.config.digest, shape.config.size);
  for (const layer of shape.layers) sizes.set(layer.digest, layer.size);
}

function total(sizes: Map<string, number>): number {
  let sum = 0;
  for (const size of sizes.values()) sum += size;
  return sum;
}

/** The config's `created` as ISO 8601 (docker writes nanoseconds, an offset is allowed); undefined when unreadable. */
export function createdAt(config: StoredImageConfig | undefined): string | undefined {
  const ms = config?.created ? Date.parse(config.created) : Number.NaN;
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}
