import type { ManifestRecord } from '../../meta/metadata-store.ts';
import { isIndexMediaType } from '../../oci/media-types.ts';
import { type ManifestShape, platformName, type StoredDescriptor, type StoredImageConfig } from './stored-json.ts';
import type { StoredManifests } from './stored-manifests.ts';

/** A tag's row, and the header of a manifest's page (src/web/api-types.ts TagRow). */
export interface ManifestSummary {
  /** Bytes of the manifest and every blob it names, each digest counted once (an index: with its children's). */
  size: number;
  /** The config's `created`, for an index the newest of its children's, else when the manifest was pushed. */
  created: string;
  platforms: string[];
}

/**
 * Summarises a stored manifest. An index's children are read one level deep (a child that is itself an index
 * counts its own bytes only); children the repository does not hold count their descriptor's size.
 */
export async function summarizeManifest(stored: StoredManifests, record: ManifestRecord, shape?: ManifestShape): Promise<ManifestSummary> {
  const own = shape ?? (await stored.shape(record.digest));
  const sizes = new Map<string, number>([[record.digest, record.size]]);
  if (isIndexMediaType(record.mediaType) || own.manifests.length > 0) return summarizeIndex(stored, record, own, sizes);
  const config = await stored.config(own.config);
  addImageBlobs(sizes, own);
  const platform = config && platformName(config);
  return { size: total(sizes), created: createdAt(config) ?? record.createdAt, platforms: platform ? [platform] : [] };
}

async function summarizeIndex(stored: StoredManifests, record: ManifestRecord, index: ManifestShape, sizes: Map<string, number>): Promise<ManifestSummary> {
  const children = await Promise.all(index.manifests.map(async (child) => {
    const held = await stored.record(child.digest);
    const shape = held ? await stored.shape(child.digest) : undefined;
    return { child, shape, config: shape && (await stored.config(shape.config)) };
  }));
  const created: string[] = [];
  for (const { child, shape, config } of children) {
    sizes.set(child.digest, child.size);
    if (shape) addImageBlobs(sizes, shape);
    const at = createdAt(config);
    if (at) created.push(at);
  }
  const platforms = [...new Set(index.manifests.flatMap((child) => childPlatform(child) ?? []))];
  return { size: total(sizes), created: created.sort().at(-1) ?? record.createdAt, platforms };
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
