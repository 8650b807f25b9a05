import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import {
  familiarName,
  familiarReference,
  formatReference,
  looksLikeImageId,
  parseReference,
  repositoryName,
  withDefaultTag,
  type ImageReference,
} from '../../client/reference.ts';
import { parseImageConfig, type ImageConfig } from './image-config.ts';
import { writeFileDurably } from '../../base/durable-file.ts';

export interface LayerRecord {
  /** Digest of the blob as stored (compressed when pulled, plain tar when imported). */
  blob: string;
  mediaType: string;
  diffId: string;
  chainId: string;
  /** Uncompressed size in bytes. */
  size: number;
}

export interface ImageRecord {
  /** `sha256:…`, the config digest. */
  id: string;
  layers: LayerRecord[];
  /** `repo@sha256:…` (full repository names) this image was pulled by. */
  repoDigests: string[];
  size: number;
  lastTagTime?: string;
  /** The platform manifest this image was pulled with (its bytes are a blob): a push sends it back unchanged. */
  manifest?: { digest: string; mediaType: string };
  /** The image this one was made from by commit or a build step (moby's parent link); none for pulled images. */
  parent?: string;
  /**
   * Digest of the parent id and the build step's cache key, for images a build made: the local build cache finds
   * them by it. It goes with the parent link: an image that loses its parent is no cache entry any more.
   */
  buildKey?: string;
}

interface StoreFile {
  images: ImageRecord[];
  /** Full reference (`docker.io/library/busybox:latest`) -> image id. */
  refs: Record<string, string>;
}

const maxConfigBytes = 8 * 1024 * 1024;

/**
 * The engine's image metadata: image records and the reference (tag) table, persisted as one JSON file
 * replaced atomically; configs and layers live in the shared BlobStore. Writes are synchronous so no two
 * saves interleave.
 */
export class ImageStore {
  #file: string;
  #blobs: BlobStore;
  #images = new Map<string, ImageRecord>();
  #refs = new Map<string, string>();
  #configs = new Map<string, ImageConfig>();
  /** parent id -> child ids, in the order the children were recorded (the last is the newest). */
  #children = new Map<string, Set<string>>();

  constructor(options: { dir: string; blobs: BlobStore }) {
    mkdirSync(options.dir, { recursive: true });
    this.#file = join(options.dir, 'images.json');
    this.#blobs = options.blobs;
    this.#load();
  }

  #load(): void {
    if (!existsSync(this.#file)) return;
    const data = JSON.parse(readFileSync(this.#file, 'utf8')) as StoreFile;
    for (const image of data.images) this.#images.set(image.id, image);
    for (const [ref, id] of Object.entries(data.refs)) if (this.#images.has(id)) this.#refs.set(ref, id);
    for (const image of this.#images.values()) {
      // A parent removed by an older engine that kept no links leaves the child without one, as moby's store does.
      if (image.parent && !this.#images.has(image.parent)) orphan(image);
    }
    this.#breakCycles();
    for (const image of this.#images.values()) if (image.parent) this.#link(image.id, image.parent);
  }

  /** A corrupt file may link parents in a ring: the link closing one is dropped, so no walk up the links loops. */
  #breakCycles(): void {
    const done = new Set<string>();
    for (const start of this.#images.values()) {
      const path = new Set<string>();
      for (let image: ImageRecord | undefined = start; image && !done.has(image.id); ) {
        path.add(image.id);
        if (image.parent && path.has(image.parent)) orphan(image);
        image = image.parent ? this.#images.get(image.parent) : undefined;
      }
      for (const id of path) done.add(id);
    }
  }

  /** Whether `id` is `ancestor` or descends from it (the walk stops at a repeat, whatever the file held). */
  #descendsFrom(id: string, ancestor: string): boolean {
    const seen = new Set<string>();
    for (let next: string | undefined = id; next && !seen.has(next); next = this.#images.get(next)?.parent) {
      if (next === ancestor) return true;
      seen.add(next);
    }
    return false;
  }

  #link(id: string, parent: string): void {
    const set = this.#children.get(parent) ?? new Set<string>();
    set.add(id);
    this.#children.set(parent, set);
  }

  #unlink(id: string, parent: string | undefined): void {
    if (!parent) return;
    const set = this.#children.get(parent);
    set?.delete(id);
    if (set && !set.size) this.#children.delete(parent);
  }

  #save(): void {
    const data: StoreFile = { images: [...this.#images.values()], refs: Object.fromEntries(this.#refs) };
    writeFileDurably(this.#file, JSON.stringify(data));
  }

  list(): ImageRecord[] {
    return [...this.#images.values()];
  }

  get(id: string): ImageRecord | undefined {
    return this.#images.get(id);
  }

  /** Adds (or updates) an image record; a parent link or build key it already had stays unless `record` names one. */
  put(record: ImageRecord): void {
    const existing = this.#images.get(record.id);
    const repoDigests = [...new Set([...(existing?.repoDigests ?? []), ...record.repoDigests])];
    const parent = record.parent ?? existing?.parent;
    const buildKey = record.buildKey ?? existing?.buildKey;
    if (parent && (parent === record.id || !this.#images.has(parent))) throw new Fault('not-found', `No such image: ${parent} (parent of ${record.id})`);
    if (parent && this.#descendsFrom(parent, record.id)) {
      throw new Fault('invalid-argument', `image ${record.id} cannot descend from its own descendant ${parent}`);
    }
    this.#images.set(record.id, {
      ...record,
      repoDigests,
      lastTagTime: existing?.lastTagTime ?? record.lastTagTime,
      ...(parent ? { parent } : {}),
      ...(buildKey ? { buildKey } : {}),
    });
    this.#unlink(record.id, existing?.parent);
    if (parent) this.#link(record.id, parent);
    for (const ref of repoDigests) this.#refs.set(ref, record.id);
    this.#save();
  }

  /** moby's SetParent: `id` now descends from `parent` (a previous link is replaced). */
  setParent(id: string, parent: string): void {
    const image = this.#images.get(id);
    if (!image) throw new Fault('not-found', `No such image: ${id}`);
    this.put({ ...image, parent });
  }

  /** Marks `id` as what the build step `key` made on `parent` ('' for FROM scratch): the local build cache. */
  setBuilt(id: string, parent: string, key: string): void {
    const image = this.#images.get(id);
    if (!image) throw new Fault('not-found', `No such image: ${id}`);
    this.put({ ...image, buildKey: buildKeyDigest(parent, key), ...(parent ? { parent } : {}) });
  }

  /** The newest image the build step `key` made on `parent` ('' for FROM scratch: parentless images), if any. */
  builtChild(parent: string, key: string): string | undefined {
    const digest = buildKeyDigest(parent, key);
    const candidates = parent ? this.children(parent) : [...this.#images.values()].filter((i) => !i.parent).map((i) => i.id);
    return candidates.filter((id) => this.#images.get(id)?.buildKey === digest).at(-1);
  }

  /** Images whose parent is `id`, oldest first. */
  children(id: string): string[] {
    return [...(this.#children.get(id) ?? [])];
  }

  /** moby's intermediate image: no reference at all, and another image's parent. `docker images` hides it without -a. */
  isIntermediate(id: string): boolean {
    return this.references(id).length === 0 && this.children(id).length > 0;
  }

  /** Points `ref` at image `id`; returns the image it pointed at before, if another. */
  tag(ref: ImageReference, id: string, now = new Date()): string | undefined {
    const image = this.#images.get(id);
    if (!image) throw new Fault('not-found', `No such image: ${id}`);
    const key = formatReference(withDefaultTag(ref));
    const previous = this.#refs.get(key);
    this.#refs.set(key, id);
    image.lastTagTime = now.toISOString();
    this.#save();
    return previous !== id ? previous : undefined;
  }

  /** Removes one reference; returns its familiar form. */
  untag(ref: string): string {
    const id = this.#refs.get(ref);
    if (!id) throw new Fault('not-found', `No such image: ${familiarRefString(ref)}`);
    this.#refs.delete(ref);
    const image = this.#images.get(id);
    if (image) image.repoDigests = image.repoDigests.filter((d) => d !== ref);
    this.#save();
    return familiarRefString(ref);
  }

  /** Drops the record and every reference to it; its children lose their parent link (and build key), as in moby's store. */
  delete(id: string): void {
    for (const [ref, target] of this.#refs) if (target === id) this.#refs.delete(ref);
    for (const child of this.children(id)) {
      const record = this.#images.get(child);
      if (record) orphan(record);
    }
    this.#children.delete(id);
    this.#unlink(id, this.#images.get(id)?.parent);
    this.#images.delete(id);
    this.#configs.delete(id);
    this.#save();
  }

  /** Full references (`repo:tag` and `repo@digest`) pointing at `id`. */
  references(id: string): string[] {
    return [...this.#refs].filter(([, target]) => target === id).map(([ref]) => ref);
  }

  tags(id: string): string[] {
    return this.references(id).filter((r) => !r.includes('@'));
  }

  /** RepoTags as the CLI shows them: `busybox:latest`. */
  familiarTags(id: string): string[] {
    return this.tags(id).map(familiarRefString);
  }

  familiarDigests(id: string): string[] {
    return this.references(id)
      .filter((r) => r.includes('@'))
      .map(familiarRefString);
  }

  /**
   * Finds an image by full ID, reference (default tag latest) or unique ID prefix, in moby's order.
   * Throws not-found worded as moby does: `No such image: busybox:latest`.
   */
  resolve(input: string): ImageRecord {
    const found = this.find(input);
    if (found) return found;
    throw new Fault('not-found', `No such image: ${notFoundName(input)}`);
  }

  find(input: string): ImageRecord | undefined {
    const byId = /^(sha256:)?([a-f0-9]{64})$/.exec(input);
    if (byId) return this.#images.get(`sha256:${byId[2]}`);
    const ref = tryParse(input);
    if (ref) {
      const id = this.#refs.get(formatReference(withDefaultTag(ref)));
      if (id) return this.#images.get(id);
    }
    if (!looksLikeImageId(input)) return undefined;
    const prefix = input.startsWith('sha256:') ? input : `sha256:${input}`;
    const matches = [...this.#images.keys()].filter((id) => id.startsWith(prefix));
    if (matches.length > 1) throw new Fault('not-found', `No such image: ${input} (ambiguous prefix)`);
    return matches.length ? this.#images.get(matches[0]) : undefined;
  }

  /** Reads (and caches) an image's config from the blob store. */
  async config(id: string): Promise<ImageConfig> {
    const cached = this.#configs.get(id);
    if (cached) return cached;
    const bytes = await readBlobBytes(this.#blobs, id, { limit: maxConfigBytes, what: `image config ${id}` });
    const config = parseImageConfig(bytes, id);
    this.#configs.set(id, config);
    return config;
  }

  /** The recorded uncompressed size of a layer stack's top, from any image that has it. */
  layerSize(chainId: string): number | undefined {
    for (const image of this.#images.values()) {
      const layer = image.layers.find((l) => l.chainId === chainId);
      if (layer) return layer.size;
    }
    return undefined;
  }

  /** Every chainID used by an image other than `except`, to know which snapshots a delete may release. */
  chainIdsInUse(except?: string): Set<string> {
    const inUse = new Set<string>();
    for (const image of this.#images.values()) {
      if (image.id === except) continue;
      for (const layer of image.layers) inUse.add(layer.chainId);
    }
    return inUse;
  }
}

/**
 * Keys can be long (a step's text and config): the record keeps their digest, taken with the parent id ('' for
 * FROM scratch) so that a key can never match under another parent, whatever happens to the links.
 */
function buildKeyDigest(parent: string, key: string): string {
  return `sha256:${createHash('sha256').update(`${parent}\n${key}`).digest('hex')}`;
}

/** Without its parent an image is no build result any more: its key named a step on that parent. */
function orphan(image: ImageRecord): void {
  delete image.parent;
  delete image.buildKey;
}

function tryParse(input: string): ImageReference | undefined {
  try {
    return parseReference(input);
  } catch {
    return undefined;
  }
}

/** moby's ErrImageDoesNotExist wording: the familiar reference with its default tag. */
function notFoundName(input: string): string {
  const byId = /^(sha256:)?([a-f0-9]{64})$/.exec(input);
  if (byId) return `sha256:${byId[2]}`;
  if (input.startsWith('sha256:')) return input;
  return familiarReference(withDefaultTag(parseReference(input)));
}

/** `docker.io/library/busybox:latest` -> `busybox:latest`. */
export function familiarRefString(ref: string): string {
  const parsed = tryParse(ref);
  return parsed ? familiarReference(parsed) : ref;
}

export { familiarName, repositoryName };
