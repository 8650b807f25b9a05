import { randomUUID } from 'node:crypto';
import { pipeline as chain, type Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { hostPlatform } from '../../client/image-resolver.ts';
import { familiarReference, formatReference, parseReference, withDefaultTag, type ImageReference } from '../../client/reference.ts';
import type { RegistryAuth, RegistryClient } from '../../client/registry-client.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import type { EventLog } from '../events.ts';
import { applyConfigChanges } from './config-changes.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { emptyLayerDiffId } from '../../oci/v1-image.ts';
import { storeBytes } from './store-bytes.ts';
import type { HistoryEntry, ImageConfig, ImageRuntimeConfig } from './image-config.ts';
import { searchIndex, type SearchResult } from '../../client/index-search.ts';
import { readArchive, saveArchive, type SavedImage } from './image-archive.ts';
import { parseImageConfig } from './image-config.ts';
import { ImagePuller } from './image-puller.ts';
import { ImagePusher, type PushOptions } from './image-pusher.ts';
import { ImageDeleter, type DeleteRecord, type ImageUsers } from './image-delete.ts';
import { familiarRefString, type ImageRecord, type ImageStore } from './image-store.ts';
import { blobCompression, decompressStream } from './layer-compression.ts';
import { untarFault } from '../../base/archive-fault.ts';
import { LayerUnpacker } from './layer-unpacker.ts';
import type { ProgressSink } from './progress.ts';
import { noLeases, type BlobLease, type BlobLeases } from './blob-leases.ts';
import type { BlobReleaser } from './blob-releaser.ts';


export interface ImageServiceDeps {
  store: ImageStore;
  blobs: BlobStore;
  snapshotter: Snapshotter;
  registry: RegistryClient;
  events: EventLog;
  logger: Logger;
  now?: () => Date;
  /** Leases on the blobs an operation is about to record (see BlobLeases); none when no collector shares the store. */
  leases?: Pick<BlobLeases, 'hold'>;
  /** Frees deleted images' blobs nothing else names; without it they stay until a full collection. */
  releaser?: BlobReleaser;
}


/** The image operations behind the API: pull, push, import, tag, remove, history. */
export class ImageService {
  readonly store: ImageStore;
  #deps: ImageServiceDeps;
  #unpacker: LayerUnpacker;
  #puller: ImagePuller;
  #pusher: ImagePusher;
  #deleter: ImageDeleter;
  #leases: Pick<BlobLeases, 'hold'>;
  #users: ImageUsers = () => [];

  constructor(deps: ImageServiceDeps) {
    this.#deps = deps;
    this.store = deps.store;
    this.#leases = deps.leases ?? noLeases;
    this.#unpacker = new LayerUnpacker({ blobs: deps.blobs, snapshotter: deps.snapshotter });
    this.#puller = new ImagePuller({ ...deps, leases: this.#leases, unpacker: this.#unpacker });
    this.#pusher = new ImagePusher(deps);
    this.#deleter = new ImageDeleter({ ...deps, users: (id) => this.#users(id) });
  }

  /**
   * docker save NAME…: a reference names that image (with every tag of the repository when no tag is given), an
   * ID names it without tags. Resolved before anything streams.
   */
  save(names: string[]): Readable {
    if (!names.length) throw new Fault('invalid-argument', 'no image names were given');
    const chosen = new Map<string, SavedImage>();
    const add = (record: ImageRecord, ref?: string) => {
      const entry = chosen.get(record.id) ?? { record, refs: [], repoTags: [] };
      if (ref && !entry.refs.includes(ref)) {
        entry.refs.push(ref);
        entry.repoTags.push(familiarRefString(ref));
      }
      chosen.set(record.id, entry);
    };
    for (const name of names) {
      const record = this.store.resolve(name);
      const ref = namedReference(name);
      if (ref?.digest) add(record);
      else if (ref?.tag && this.store.references(record.id).includes(formatReference(ref))) add(record, formatReference(ref));
      else if (ref && !ref.tag) {
        const repo = `${formatReference(ref)}:`;
        for (const image of this.store.list()) for (const tagged of this.store.tags(image.id)) if (tagged.startsWith(repo)) add(image, tagged);
        if (!chosen.size) add(record);
      } else add(record);
    }
    return saveArchive(this.#deps.blobs, [...chosen.values()]);
  }

  /** docker load: every image of the archive, its layers unpacked (diffIDs verified), its tags set. */
  load(body: Readable, options: { progress?: ProgressSink; signal?: AbortSignal } = {}): Promise<string[]> {
    return this.#leases.hold((lease) => this.#load(body, lease, options));
  }

  async #load(body: Readable, lease: BlobLease, options: { progress?: ProgressSink; signal?: AbortSignal }): Promise<string[]> {
    const progress = options.progress ?? (() => undefined);
    const images = await readArchive(body, this.#deps.blobs, (source) => this.#ingestStream(source, lease, options.signal)).catch((err: unknown) => {
      throw this.#untarFault(err, 'load');
    });
    // Small files already stored were touched just now, when the archive ended; their images are recorded after every unpack.
    for (const image of images) lease.add([image.configDigest, ...image.layers]);
    const ids: string[] = [];
    for (const image of images) {
      const config = parseImageConfig(image.config, image.configDigest);
      if (config.rootfs.diff_ids.length !== image.layers.length) {
        throw new Fault('invalid-argument', `image ${image.configDigest}: ${image.layers.length} layers but ${config.rootfs.diff_ids.length} diff_ids`);
      }
      const id = await storeBytes(this.#deps.blobs, image.config, image.configDigest);
      const unpacked = await this.#unpacker.unpack(image.layers.map((blob, i) => ({ blob, diffId: config.rootfs.diff_ids[i] })));
      const layers = await Promise.all(
        unpacked.map(async (u, i) => ({
          blob: image.layers[i],
          mediaType: await this.#layerMediaType(image.layers[i]),
          diffId: u.diffId,
          chainId: u.chainId,
          size: u.size ?? this.store.layerSize(u.chainId) ?? 0,
        })),
      );
      this.store.put({ id, layers, repoDigests: [], size: layers.reduce((sum, l) => sum + l.size, 0) });
      for (const tag of image.repoTags) {
        this.tagImage(id, withDefaultTag(parseReference(tag)));
        progress({ stream: `Loaded image: ${tag}\n` });
      }
      if (!image.repoTags.length) progress({ stream: `Loaded image ID: ${id}\n` });
      this.#deps.events.emit('image', 'load', { id, attributes: { name: id } });
      ids.push(id);
    }
    return ids;
  }

  /** docker search: the index named by the term (Docker Hub's otherwise) answers /v1/search. */
  search(term: string, options: { limit?: number; auth?: RegistryAuth; signal?: AbortSignal }): Promise<SearchResult[]> {
    return searchIndex(this.#deps.registry, term, options);
  }

  /** docker push NAME[:TAG]: one tag, or every local tag of the repository when none is given. */
  async push(name: string, tag: string | undefined, options: PushOptions = {}): Promise<void> {
    const ref = parseReference(name);
    if (ref.tag || ref.digest) throw new Fault('invalid-argument', `invalid reference format: ${name} must name a repository, the tag goes in the tag parameter`);
    if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) throw new Fault('invalid-argument', `invalid tag format: ${tag}`);
    await this.#pusher.push(ref, tag, options);
    this.#deps.events.emit('image', 'push', { id: `${familiarReference(ref)}${tag ? `:${tag}` : ''}`, attributes: { name: familiarReference(ref) } });
  }

  /** Wired after construction: the container manager depends on images, not the other way round. */
  setUsers(users: ImageUsers): void {
    this.#users = users;
  }

  #now(): Date {
    return this.#deps.now?.() ?? new Date();
  }

  async pull(input: string, options: { auth?: RegistryAuth; progress?: ProgressSink; signal?: AbortSignal } = {}): Promise<ImageRecord> {
    const ref = withDefaultTag(parseReference(input));
    const { record } = await this.#puller.pull(ref, options);
    this.#deps.events.emit('image', 'pull', { id: familiarReference(ref), attributes: { name: familiarReference(ref) } });
    return record;
  }

  /** dockerd's words for a cut archive (untarFault); what the decompressor or tar reader said goes to the log. */
  #untarFault(err: unknown, what: 'load' | 'import'): unknown {
    const fault = untarFault(err);
    if (fault !== err) this.#deps.logger.info({ err, cause: (err as Error).cause }, `docker ${what}: the archive ended early`);
    return fault;
  }

  /** docker import: the body is a rootfs tar (plain, gzip, zstd, bzip2 or xz); it becomes a one-layer image. */
  import(body: Readable, options: { repo?: string; tag?: string; message?: string; changes?: string[]; signal?: AbortSignal }): Promise<string> {
    return this.#leases.hold((lease) => this.#import(body, lease, options));
  }

  async #import(
    body: Readable,
    lease: BlobLease,
    options: { repo?: string; tag?: string; message?: string; changes?: string[]; signal?: AbortSignal },
  ): Promise<string> {
    const target = importTarget(options.repo, options.tag);
    // A layer blob is plain, gzip or zstd (what a manifest can name): bzip2 and xz are stored decompressed.
    const layerBytes = chain(body, decompressStream({ keep: ['gzip', 'zstd'] }), () => undefined);
    const untar = (err: unknown) => {
      throw this.#untarFault(err, 'import');
    };
    const blob = await this.#ingestStream(layerBytes, lease, options.signal).catch(untar);
    const [layer] = await this.#unpacker.unpack([{ blob }]).catch(untar);
    const created = this.#now().toISOString();
    const comment = options.message || 'Imported from -';
    const platform = hostPlatform();
    const config: ImageConfig = {
      architecture: platform.architecture,
      os: 'linux',
      created,
      comment,
      config: applyConfigChanges({}, options.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [layer.diffId] },
      history: [{ created, comment }],
    };
    const id = await storeBytes(this.#deps.blobs, Buffer.from(JSON.stringify(config)));
    const size = layer.size ?? this.store.layerSize(layer.chainId) ?? 0;
    this.store.put({
      id,
      layers: [{ blob, mediaType: await this.#layerMediaType(blob), diffId: layer.diffId, chainId: layer.chainId, size }],
      repoDigests: [],
      size,
    });
    if (target) this.tagImage(id, target);
    this.#deps.events.emit('image', 'import', { id, attributes: { name: id } });
    return id;
  }

  /**
   * docker commit: the container's changes (`changes`, an uncompressed layer tar) become a layer on top of its
   * image. The tar is stored as a blob first, then unpacked like any layer (the parent chain is reused), so the
   * new image's top snapshot is a committed snapshot and the container's own stays untouched.
   */
  commit(
    changes: Readable,
    from: { imageId: string; containerId: string; config: ImageRuntimeConfig; createdBy: string },
    options: { repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; buildKey?: string; signal?: AbortSignal },
  ): Promise<string> {
    return this.#leases.hold((lease) => this.#commit(changes, from, options, lease));
  }

  async #commit(
    changes: Readable,
    from: { imageId: string; containerId: string; config: ImageRuntimeConfig; createdBy: string },
    options: { repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; buildKey?: string; signal?: AbortSignal },
    lease: BlobLease,
  ): Promise<string> {
    const target = importTarget(options.repo, options.tag);
    // '' is FROM scratch: the builder's first layer of an empty stage has no parent.
    const parent = from.imageId ? this.store.get(from.imageId) : undefined;
    if (from.imageId && !parent) throw new Fault('not-found', `No such image: ${from.imageId} (the container's image was removed)`);
    const parentConfig = parent ? await this.store.config(parent.id) : scratchConfig();
    const parentLayers = parent?.layers ?? [];
    const blob = await this.#ingestStream(changes, lease, options.signal);
    // moby's NewChildImage: a container that changed nothing (an empty tar) adds no layer, an empty_layer history entry.
    const empty = blob === emptyLayerDiffId;
    const unpacked = empty ? [] : await this.#unpacker.unpack([...parentLayers.map((l) => ({ blob: l.blob, diffId: l.diffId })), { blob }]);
    const top = unpacked.at(-1);
    const created = this.#now().toISOString();
    const config: ImageConfig = {
      ...parentConfig,
      created,
      ...(options.author ? { author: options.author } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      container: from.containerId,
      config: applyConfigChanges(from.config, options.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [...parentConfig.rootfs.diff_ids, ...(top ? [top.diffId] : [])] },
      history: [
        ...(parentConfig.history ?? []),
        {
          created,
          created_by: from.createdBy,
          ...(options.author ? { author: options.author } : {}),
          ...(options.comment ? { comment: options.comment } : {}),
          ...(empty ? { empty_layer: true } : {}),
        },
      ],
    };
    const id = await storeBytes(this.#deps.blobs, Buffer.from(JSON.stringify(config)));
    const size = top ? (top.size ?? this.store.layerSize(top.chainId) ?? 0) : 0;
    const layers = top ? [...parentLayers, { blob, mediaType: mediaTypes.dockerLayerUncompressed, diffId: top.diffId, chainId: top.chainId, size }] : parentLayers;
    // moby's CommitImage: the container's image is the new image's parent (docker commit and build steps alike).
    this.store.put({ id, layers, repoDigests: [], size: (parent?.size ?? 0) + size, ...(parent ? { parent: parent.id } : {}) });
    if (options.buildKey !== undefined) this.store.setBuilt(id, parent?.id ?? '', options.buildKey);
    if (target) this.tagImage(id, target);
    return id;
  }

  /**
   * A new image with `parentId`'s layers and `config` as its runtime config, one empty-layer history entry on top:
   * what a builder's metadata step (CMD, ENV, …) makes. Its parent is `parentId` ('' for FROM scratch: no layers);
   * `buildKey` records the step for the build cache.
   */
  async deriveConfig(parentId: string, config: ImageRuntimeConfig, createdBy: string, options: { buildKey?: string; author?: string } = {}): Promise<string> {
    const parent = parentId ? this.store.resolve(parentId) : undefined;
    const parentConfig = parent ? await this.store.config(parent.id) : scratchConfig();
    const created = this.#now().toISOString();
    const next: ImageConfig = {
      ...parentConfig,
      created,
      ...(options.author ? { author: options.author } : {}),
      config,
      history: [...(parentConfig.history ?? []), { created, created_by: createdBy, ...(options.author ? { author: options.author } : {}), empty_layer: true }],
    };
    const id = await storeBytes(this.#deps.blobs, Buffer.from(JSON.stringify(next)));
    this.store.put({ id, layers: parent?.layers ?? [], repoDigests: [], size: parent?.size ?? 0, ...(parent ? { parent: parent.id } : {}) });
    if (options.buildKey !== undefined) this.store.setBuilt(id, parent?.id ?? '', options.buildKey);
    return id;
  }

  /** The import body is stored as it came: name its compression by its magic bytes, as a manifest must. */
  async #layerMediaType(blob: string): Promise<string> {
    const compression = await blobCompression(this.#deps.blobs, blob);
    return compression === 'gzip' ? mediaTypes.dockerLayer : compression === 'zstd' ? mediaTypes.ociLayerZstd : mediaTypes.dockerLayerUncompressed;
  }


  /** Stores a stream as a blob, leased before its commit (which may only touch a copy stored long ago). */
  async #ingestStream(body: Readable, lease: BlobLease, signal?: AbortSignal): Promise<string> {
    const writer = await this.#deps.blobs.ingest(`engine-import-${randomUUID().replace(/-/g, '')}`);
    try {
      await writer.write(body, { signal });
      const digest = await writer.digest();
      lease.add([digest]);
      await writer.commit({ digest });
      return digest;
    } catch (err) {
      await writer.cancel().catch(() => undefined);
      throw err;
    }
  }

  /** docker tag SOURCE REPO[:TAG] */
  tag(source: string, repo: string, tag?: string): void {
    const image = this.store.resolve(source);
    const target = importTarget(repo, tag);
    if (!target) throw new Fault('invalid-argument', 'repository name must have at least one component');
    if (target.digest) throw new Fault('invalid-argument', 'refusing to create a tag with a digest reference');
    this.tagImage(image.id, target);
  }

  tagImage(id: string, ref: ImageReference): void {
    this.store.tag(ref, id, this.#now());
    this.#deps.events.emit('image', 'tag', { id, attributes: { name: familiarReference(withDefaultTag(ref)) } });
  }

  /**
   * docker rmi (moby's ImageDelete): see ImageDeleter. The deleted images' blobs are released before it answers,
   * or, when `freed` is given, added to it for the caller to release once (prune).
   */
  async remove(input: string, options: { force?: boolean; prune?: boolean } = {}, freed?: Set<string>): Promise<DeleteRecord[]> {
    const blobs = freed ?? new Set<string>();
    const records = await this.#deleter.remove(input, options, blobs);
    if (!freed) await this.releaseBlobs(blobs);
    return records;
  }

  /** Frees those of `digests` nothing else names (BlobReleaser); a failure is logged, a full collection frees them later. */
  async releaseBlobs(digests: Set<string>): Promise<void> {
    if (!digests.size || !this.#deps.releaser) return;
    try {
      await this.#deps.releaser.release([...digests]);
    } catch (err) {
      this.#deps.logger.warn({ err }, 'freeing the blobs of deleted images failed');
    }
  }

  /** Whether a container (running or not) was made from the image. */
  isUsed(id: string): boolean {
    return this.#users(id).length > 0;
  }

  /** Removes a cache image even when images descend from it: see ImageDeleter.forget. Its blobs go into `freed`, for the caller to release. */
  forget(id: string, freed: Set<string>): Promise<DeleteRecord[]> {
    return this.#deleter.forget(id, freed);
  }

  /** docker history: newest first; entries carry the IDs and tags of the image and its parents, older ones `<missing>`. */
  async history(input: string): Promise<HistoryItem[]> {
    const image = this.store.resolve(input);
    const config = await this.store.config(image.id);
    const entries: HistoryEntry[] = config.history?.length
      ? config.history
      : image.layers.map(() => ({ created: config.created, created_by: '', empty_layer: false }));
    let layerIndex = 0;
    const items = entries.map((entry) => {
      const size = entry.empty_layer ? 0 : (image.layers[layerIndex++]?.size ?? 0);
      return {
        Id: '<missing>',
        Created: Math.floor(Date.parse(entry.created ?? config.created ?? '1970-01-01T00:00:00Z') / 1000) || 0,
        CreatedBy: entry.created_by ?? '',
        Tags: null as string[] | null,
        Size: size,
        Comment: entry.comment ?? '',
      };
    });
    items.reverse();
    // moby walks the parent links: each entry from the top takes the ID and tags of the next image down.
    let id: string | undefined = image.id;
    for (const item of items) {
      if (!id || !this.store.get(id)) break;
      const tags = this.store.familiarTags(id);
      item.Id = id;
      item.Tags = tags.length ? tags : null;
      id = this.store.get(id)?.parent;
    }
    return items;
  }
}

export interface HistoryItem {
  Id: string;
  Created: number;
  CreatedBy: string;
  Tags: string[] | null;
  Size: number;
  Comment: string;
}

/** The reference a save argument spells, unless it is an image ID (full, `sha256:`-prefixed or a short hex). */
function namedReference(name: string): ImageReference | undefined {
  if (/^sha256:/.test(name) || /^[a-f0-9]{12,64}$/.test(name)) return undefined;
  try {
    return parseReference(name);
  } catch {
    return undefined;
  }
}

/** `repo` may carry the tag (`imp:1`); an explicit `tag` wins. Empty repo means untagged. */
function importTarget(repo: string | undefined, tag: string | undefined): ImageReference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  return withDefaultTag(tag ? { ...ref, tag, digest: undefined } : ref);
}

/** FROM scratch: an empty rootfs on the host platform. */
function scratchConfig(): ImageConfig {
  return { architecture: hostPlatform().architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] }, history: [] };
}





export { familiarRefString };
