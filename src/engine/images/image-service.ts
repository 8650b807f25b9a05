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
import { storeBytes } from './store-bytes.ts';
import type { HistoryEntry, ImageConfig, ImageRuntimeConfig } from './image-config.ts';
import { searchIndex, type SearchResult } from '../../client/index-search.ts';
import { readArchive, saveArchive, type SavedImage } from './image-archive.ts';
import { parseImageConfig } from './image-config.ts';
import { ImagePuller } from './image-puller.ts';
import { ImagePusher, type PushOptions } from './image-pusher.ts';
import { familiarRefString, type ImageRecord, type ImageStore } from './image-store.ts';
import { blobCompression, decompressStream } from './layer-compression.ts';
import { LayerUnpacker } from './layer-unpacker.ts';
import { shortId, type ProgressSink } from './progress.ts';

/** Who uses an image, so rmi can refuse (the container manager answers). */
export type ImageUsers = (imageId: string) => { id: string; running: boolean }[];

export interface ImageServiceDeps {
  store: ImageStore;
  blobs: BlobStore;
  snapshotter: Snapshotter;
  registry: RegistryClient;
  events: EventLog;
  logger: Logger;
  now?: () => Date;
}

export type DeleteRecord = { Untagged: string } | { Deleted: string };

/** The image operations behind the API: pull, push, import, tag, remove, history. */
export class ImageService {
  readonly store: ImageStore;
  #deps: ImageServiceDeps;
  #unpacker: LayerUnpacker;
  #puller: ImagePuller;
  #pusher: ImagePusher;
  #users: ImageUsers = () => [];

  constructor(deps: ImageServiceDeps) {
    this.#deps = deps;
    this.store = deps.store;
    this.#unpacker = new LayerUnpacker({ blobs: deps.blobs, snapshotter: deps.snapshotter });
    this.#puller = new ImagePuller({ ...deps, unpacker: this.#unpacker });
    this.#pusher = new ImagePusher(deps);
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
  async load(body: Readable, options: { progress?: ProgressSink; signal?: AbortSignal } = {}): Promise<string[]> {
    const progress = options.progress ?? (() => undefined);
    const images = await readArchive(body, this.#deps.blobs, (source) => this.#ingestStream(source, options.signal));
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

  /** docker import: the body is a rootfs tar (plain, gzip, zstd, bzip2 or xz); it becomes a one-layer image. */
  async import(
    body: Readable,
    options: { repo?: string; tag?: string; message?: string; changes?: string[]; signal?: AbortSignal },
  ): Promise<string> {
    const target = importTarget(options.repo, options.tag);
    // A layer blob is plain, gzip or zstd (what a manifest can name): bzip2 and xz are stored decompressed.
    const layerBytes = chain(body, decompressStream({ keep: ['gzip', 'zstd'] }), () => undefined);
    const blob = await this.#ingestStream(layerBytes, options.signal);
    const [layer] = await this.#unpacker.unpack([{ blob }]);
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
  async commit(
    changes: Readable,
    from: { imageId: string; containerId: string; config: ImageRuntimeConfig; createdBy: string },
    options: { repo?: string; tag?: string; comment?: string; author?: string; changes?: string[]; signal?: AbortSignal },
  ): Promise<string> {
    const target = importTarget(options.repo, options.tag);
    const parent = this.store.get(from.imageId);
    if (!parent) throw new Fault('not-found', `No such image: ${from.imageId} (the container's image was removed)`);
    const parentConfig = await this.store.config(parent.id);
    const blob = await this.#ingestStream(changes, options.signal);
    const unpacked = await this.#unpacker.unpack([...parent.layers.map((l) => ({ blob: l.blob, diffId: l.diffId })), { blob }]);
    const top = unpacked.at(-1)!;
    const created = this.#now().toISOString();
    const config: ImageConfig = {
      ...parentConfig,
      created,
      ...(options.author ? { author: options.author } : {}),
      ...(options.comment ? { comment: options.comment } : {}),
      container: from.containerId,
      config: applyConfigChanges(from.config, options.changes ?? []),
      rootfs: { type: 'layers', diff_ids: [...parentConfig.rootfs.diff_ids, top.diffId] },
      history: [
        ...(parentConfig.history ?? []),
        { created, created_by: from.createdBy, ...(options.author ? { author: options.author } : {}), ...(options.comment ? { comment: options.comment } : {}) },
      ],
    };
    const id = await storeBytes(this.#deps.blobs, Buffer.from(JSON.stringify(config)));
    const size = top.size ?? this.store.layerSize(top.chainId) ?? 0;
    const layer = { blob, mediaType: mediaTypes.dockerLayerUncompressed, diffId: top.diffId, chainId: top.chainId, size };
    this.store.put({ id, layers: [...parent.layers, layer], repoDigests: [], size: parent.size + size });
    if (target) this.tagImage(id, target);
    return id;
  }

  /**
   * A new image with `parentId`'s layers and `config` as its runtime config, one empty-layer history entry on top:
   * what a builder's metadata step (CMD, ENV, …) makes.
   */
  async deriveConfig(parentId: string, config: ImageRuntimeConfig, createdBy: string): Promise<string> {
    const parent = this.store.resolve(parentId);
    const parentConfig = await this.store.config(parent.id);
    const created = this.#now().toISOString();
    const next: ImageConfig = {
      ...parentConfig,
      created,
      config,
      history: [...(parentConfig.history ?? []), { created, created_by: createdBy, empty_layer: true }],
    };
    const id = await storeBytes(this.#deps.blobs, Buffer.from(JSON.stringify(next)));
    this.store.put({ id, layers: parent.layers, repoDigests: [], size: parent.size });
    return id;
  }

  /** The import body is stored as it came: name its compression by its magic bytes, as a manifest must. */
  async #layerMediaType(blob: string): Promise<string> {
    const compression = await blobCompression(this.#deps.blobs, blob);
    return compression === 'gzip' ? mediaTypes.dockerLayer : compression === 'zstd' ? mediaTypes.ociLayerZstd : mediaTypes.dockerLayerUncompressed;
  }


  async #ingestStream(body: Readable, signal?: AbortSignal): Promise<string> {
    const writer = await this.#deps.blobs.ingest(`engine-import-${randomUUID().replace(/-/g, '')}`);
    try {
      await writer.write(body, { signal });
      const digest = await writer.digest();
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
   * docker rmi, after moby's ImageDelete: a name untags (refusing when it would leave a container's image
   * dangling unless forced); an ID removes every reference when they are all one repository (or forced);
   * the image itself goes when nothing references it, never while a running container uses it.
   */
  async remove(input: string, options: { force?: boolean; prune?: boolean } = {}): Promise<DeleteRecord[]> {
    const image = this.store.resolve(input);
    const records: DeleteRecord[] = [];
    const refs = this.store.references(image.id);
    const key = fullKey(input);
    if (key && refs.includes(key)) {
      if (!options.force && refs.length === 1) this.#refuseIfUsed(image.id, `unable to remove repository reference "${input}" (must force)`);
      records.push({ Untagged: this.store.untag(key) });
      this.#deps.events.emit('image', 'untag', { id: image.id, attributes: { name: image.id } });
      this.#dropOrphanDigests(image.id, key, records);
      if (this.store.references(image.id).length > 0) return records;
    } else {
      const repos = new Set(refs.map((r) => parseReference(r).path));
      if (repos.size > 1 && !options.force) {
        throw new Fault('conflict', `conflict: unable to delete ${shortId(image.id)} (must be forced) - image is referenced in multiple repositories`);
      }
      this.#checkConflicts(image.id, options.force === true);
      for (const ref of refs) records.push({ Untagged: this.store.untag(ref) });
    }
    this.#checkConflicts(image.id, options.force === true);
    records.push(...(await this.#deleteImage(image)));
    return records;
  }

  /** moby: once a repository has no tag left on the image, its digest references go too. */
  #dropOrphanDigests(id: string, removed: string, records: DeleteRecord[]): void {
    const repository = removed.replace(/[@:][^/]*$/, '');
    const remaining = this.store.references(id).filter((r) => r.replace(/[@:][^/]*$/, '') === repository);
    if (remaining.some((r) => !r.includes('@'))) return;
    for (const digestRef of remaining) records.push({ Untagged: this.store.untag(digestRef) });
  }

  #refuseIfUsed(id: string, what: string): void {
    const user = this.#users(id)[0];
    if (user) {
      throw new Fault('conflict', `conflict: ${what} - container ${shortId(user.id)} is using its referenced image ${shortId(id)}`);
    }
  }

  #checkConflicts(id: string, force: boolean): void {
    const users = this.#users(id);
    const running = users.find((u) => u.running);
    if (running) {
      throw new Fault('conflict', `conflict: unable to delete ${shortId(id)} (cannot be forced) - image is being used by running container ${shortId(running.id)}`);
    }
    if (!force && users.length) {
      throw new Fault('conflict', `conflict: unable to delete ${shortId(id)} (must be forced) - image is being used by stopped container ${shortId(users[0].id)}`);
    }
  }

  async #deleteImage(image: ImageRecord): Promise<DeleteRecord[]> {
    const records: DeleteRecord[] = [];
    for (const ref of this.store.references(image.id)) records.push({ Untagged: this.store.untag(ref) });
    this.store.delete(image.id);
    records.push({ Deleted: image.id });
    this.#deps.events.emit('image', 'delete', { id: image.id, attributes: { name: image.id } });
    // Release the layer snapshots no other image shares, top first; a snapshot with children (another
    // image's or a container's rootfs) refuses and stays. Blobs stay: the registry may share them (GC's job).
    const inUse = this.store.chainIdsInUse();
    for (const layer of [...image.layers].reverse()) {
      if (inUse.has(layer.chainId)) break;
      try {
        await this.#deps.snapshotter.remove(layer.chainId);
        records.push({ Deleted: layer.chainId });
      } catch (err) {
        this.#deps.logger.debug({ err, chainId: layer.chainId }, 'layer snapshot kept');
        break;
      }
    }
    return records;
  }

  /** docker history: newest first; the top entry carries the image ID and tags, older ones `<missing>`. */
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
    if (items.length) {
      items[0].Id = image.id;
      const tags = this.store.familiarTags(image.id);
      items[0].Tags = tags.length ? tags : null;
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

/** `repo` may carry the tag (`imp:1`); an explicit `tag` wins. Empty repo means untagged. */
/** The reference a save argument spells, unless it is an image ID (full, `sha256:`-prefixed or a short hex). */
function namedReference(name: string): ImageReference | undefined {
  if (/^sha256:/.test(name) || /^[a-f0-9]{12,64}$/.test(name)) return undefined;
  try {
    return parseReference(name);
  } catch {
    return undefined;
  }
}

function importTarget(repo: string | undefined, tag: string | undefined): ImageReference | undefined {
  if (!repo) return undefined;
  const ref = parseReference(repo);
  return withDefaultTag(tag ? { ...ref, tag, digest: undefined } : ref);
}

/** The reference-table key `input` names, if it parses as a reference. */
function fullKey(input: string): string | undefined {
  try {
    const ref = withDefaultTag(parseReference(input));
    return `${ref.domain}/${ref.path}${ref.tag && !ref.digest ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
  } catch {
    return undefined;
  }
}

export { familiarRefString };
