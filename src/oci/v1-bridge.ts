import { digestOf } from './digest.ts';
import { mediaTypes } from './media-types.ts';
import { deriveV1Id, emptyLayerDiffId, type V1ImageJson } from './v1-image.ts';

/** One image of a v1 chain as stored: its json exactly as pushed, and its layer as uploaded. */
export interface V1ChainLink {
  json: string;
  layerDigest: string;
  layerSize: number;
  /** sha256 of the uncompressed tar. Equal to layerDigest when the layer was pushed as a plain tar. */
  diffId: string;
}

export interface BridgedImage {
  config: Buffer;
  configDigest: string;
  manifest: Buffer;
  manifestDigest: string;
  /** The blobs the manifest lists as layers (empty layers are left out). */
  layers: { digest: string; size: number }[];
}

// What docker's MakeConfigFromV1Config drops from the top image json: transport and v1 bookkeeping, not image.
const v1OnlyKeys = ['id', 'parent', 'Size', 'parent_id', 'layer_id', 'throwaway'];

/**
 * A v1 chain (oldest first) as a v2 image, the way docker 1.10 migrated v1 images: the config is the top json
 * minus v1 bookkeeping, plus `rootfs.diff_ids` and one `history` entry per v1 image; empty layers (the tar of a
 * metadata-only step) become `empty_layer` history and are left out of rootfs and manifest. Layers keep the bytes
 * the client uploaded, typed gzip or plain tar. Pure and key-sorted, so one chain always bridges to one digest.
 */
export function bridgeV1Chain(chain: readonly V1ChainLink[]): BridgedImage {
  const images = chain.map((link) => JSON.parse(link.json) as V1ImageJson);
  const config: Record<string, unknown> = { ...images[images.length - 1] };
  for (const key of v1OnlyKeys) delete config[key];
  config.architecture ??= 'amd64';
  config.os ??= 'linux';
  const present = chain.filter((link) => link.diffId !== emptyLayerDiffId);
  config.rootfs = { type: 'layers', diff_ids: present.map((link) => link.diffId) };
  config.history = chain.map((link, i) => historyOf(images[i], link.diffId === emptyLayerDiffId));
  const configBody = Buffer.from(JSON.stringify(sortKeys(config)));
  const configDigest = digestOf(configBody);
  const layers = present.map((link) => ({
    mediaType: link.diffId === link.layerDigest ? mediaTypes.dockerLayerUncompressed : mediaTypes.dockerLayer,
    size: link.layerSize,
    digest: link.layerDigest,
  }));
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: mediaTypes.dockerManifest,
      config: { mediaType: mediaTypes.dockerConfig, size: configBody.length, digest: configDigest },
      layers,
    }),
  );
  return { config: configBody, configDigest, manifest, manifestDigest: digestOf(manifest), layers: layers.map(({ digest, size }) => ({ digest, size })) };
}

function historyOf(image: V1ImageJson, empty: boolean): Record<string, unknown> {
  const cmd = image.container_config?.Cmd;
  return {
    ...(typeof image.created === 'string' ? { created: image.created } : {}),
    ...(typeof image.author === 'string' && image.author ? { author: image.author } : {}),
    created_by: Array.isArray(cmd) ? cmd.map(String).join(' ') : '',
    ...(typeof image.comment === 'string' && image.comment ? { comment: image.comment } : {}),
    ...(empty ? { empty_layer: true } : {}),
  };
}

function sortKeys(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.keys(object).sort().map((key) => [key, object[key]]));
}

/** A v2 image as the bridge reads it: the parsed config and the manifest's layers. */
export interface V2ImageView {
  configDigest: string;
  config: Record<string, unknown>;
  layers: readonly { mediaType: string; digest: string; size: number }[];
}

/** A v1 image derived from a v2 one: what the v1 routes serve for it. */
export interface DerivedV1Image {
  id: string;
  parent?: string;
  json: string;
  layerDigest: string;
  layerSize: number;
  diffId: string;
}

// docker 1.x unpacks plain and gzipped tars; zstd, encrypted and foreign layers have no v1 form.
const v1ReadableLayerTypes: readonly string[] = [mediaTypes.dockerLayer, mediaTypes.dockerLayerUncompressed, mediaTypes.ociLayer, mediaTypes.ociLayerGzip];

interface HistoryEntry {
  created?: unknown;
  created_by?: unknown;
  author?: unknown;
  comment?: unknown;
  empty_layer?: unknown;
}

/**
 * The v1 chain (oldest first) that stands for a v2 image on the v1 routes: one image per layer, ids from
 * `deriveV1Id`, the top one carrying the image config, the others their history step. Undefined when the image
 * has no v1 form (no layers, layer types docker 1.x cannot read, diff_ids that do not match the layers).
 */
export function deriveV1Chain(image: V2ImageView): DerivedV1Image[] | undefined {
  const { config, layers } = image;
  const rootfs = config.rootfs as { diff_ids?: unknown } | undefined;
  const diffIds = Array.isArray(rootfs?.diff_ids) ? (rootfs.diff_ids as unknown[]) : [];
  if (layers.length === 0 || diffIds.length !== layers.length || diffIds.some((d) => typeof d !== 'string')) return undefined;
  if (layers.some((layer) => !v1ReadableLayerTypes.includes(layer.mediaType))) return undefined;
  const history = Array.isArray(config.history) ? (config.history as HistoryEntry[]).filter((h) => !h?.empty_layer) : [];
  const steps = history.length === layers.length ? history : [];
  const layerDigests = layers.map((layer) => layer.digest);
  const chain: DerivedV1Image[] = [];
  for (let i = 0; i < layers.length; i++) {
    const id = deriveV1Id(image.configDigest, layerDigests, i);
    const parent = chain[i - 1]?.id;
    const json = i === layers.length - 1 ? topJson(config, id, parent) : stepJson(config, steps[i], id, parent);
    chain.push({ id, ...(parent ? { parent } : {}), json, layerDigest: layers[i].digest, layerSize: layers[i].size, diffId: diffIds[i] as string });
  }
  return chain;
}

function topJson(config: Record<string, unknown>, id: string, parent: string | undefined): string {
  const { rootfs: _rootfs, history: _history, ...rest } = config;
  return JSON.stringify({ id, ...(parent ? { parent } : {}), ...rest });
}

function stepJson(config: Record<string, unknown>, step: HistoryEntry | undefined, id: string, parent: string | undefined): string {
  const created = typeof step?.created === 'string' ? step.created : config.created;
  return JSON.stringify({
    id,
    ...(parent ? { parent } : {}),
    ...(created !== undefined ? { created } : {}),
    ...(typeof step?.author === 'string' ? { author: step.author } : {}),
    ...(typeof step?.comment === 'string' ? { comment: step.comment } : {}),
    container_config: { Cmd: typeof step?.created_by === 'string' && step.created_by ? [step.created_by] : [] },
    ...(config.architecture !== undefined ? { architecture: config.architecture } : {}),
    ...(config.os !== undefined ? { os: config.os } : {}),
  });
}

/** The entry of an index that v1 clients get: linux/amd64 when listed, else the first image manifest. */
export function selectV1Platform<T extends { mediaType: string; platform?: { os?: string; architecture?: string } }>(manifests: readonly T[]): T | undefined {
  const images = manifests.filter((m) => m.mediaType === mediaTypes.dockerManifest || m.mediaType === mediaTypes.ociManifest);
  return images.find((m) => m.platform?.os === 'linux' && m.platform?.architecture === 'amd64') ?? images[0];
}
