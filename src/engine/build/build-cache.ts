/*
 * The classic builder's cache, after moby's image/cache: the local cache finds a child of the step's parent image
 * that a build made with the same step key (parent links and keys live in the image records); the `--cache-from`
 * cache matches the given images' history and layers against the parent, as moby's ImageCache does for pulled
 * images, which carry no parent links, and rebuilds the image a matching step would have made.
 */
import type { BlobStore } from '../../store/blob-store.ts';
import type { HistoryEntry, ImageConfig, ImageRuntimeConfig } from '../images/image-config.ts';
import type { ImageRecord, ImageStore } from '../images/image-store.ts';
import { storeBytes } from '../images/store-bytes.ts';

export interface CacheFromOptions {
  /** The step's key: a local hit counts only when it is an ancestor of a `--cache-from` image (moby). */
  key?: string;
  /** The runtime config after the step, for an image rebuilt from a `--cache-from` image's history. */
  config?: ImageRuntimeConfig | null;
}

interface Source {
  record: ImageRecord;
  config: ImageConfig;
}

export class BuildCache {
  #store: ImageStore;
  #blobs: BlobStore;

  constructor(deps: { store: ImageStore; blobs: BlobStore }) {
    this.#store = deps.store;
    this.#blobs = deps.blobs;
  }

  /** The newest image a build made on `parentId` ('' for FROM scratch) with the step `key`. */
  lookup(parentId: string, key: string): string | undefined {
    return this.#store.builtChild(parentId, key);
  }

  /** Keeps `imageId` as what the step `key` made on `parentId`: its parent link and key, in its record. */
  record(parentId: string, key: string, imageId: string): void {
    this.#store.setBuilt(imageId, parentId, key);
  }

  /**
   * moby's ImageCache.GetCache: the first `--cache-from` image whose history and diff IDs start with the parent's
   * and whose next history entry was made by `createdBy` is the hit. When that entry is the image's last, the
   * image itself is the result (and gets `parentId` as parent); otherwise the step's image is rebuilt from the
   * parent plus that entry and its layer. Names that do not resolve are skipped, as moby skips them.
   */
  async lookupFrom(cacheFrom: string[], parentId: string, createdBy: string, emptyLayer: boolean, options: CacheFromOptions = {}): Promise<string | undefined> {
    const sources = await this.#sources(cacheFrom);
    if (!sources.length) return undefined;
    const local = options.key === undefined ? undefined : this.lookup(parentId, options.key);
    if (local && sources.some((s) => this.#isAncestor(local, s.record.id))) return local;
    const parent = parentId ? this.#store.resolve(parentId) : undefined;
    const parentConfig = parent ? await this.#store.config(parent.id) : undefined;
    const depth = parentConfig?.history?.length ?? 0;
    for (const target of sources) {
      const entry = target.config.history?.[depth];
      if (!entry || !isValidParent(target.config, parentConfig) || (entry.created_by ?? '') !== createdBy) continue;
      if (Boolean(entry.empty_layer) !== emptyLayer) continue;
      if (target.config.history!.length - 1 === depth) {
        if (parent) this.#store.setParent(target.record.id, parent.id);
        return target.record.id;
      }
      return this.#restore(target, { parent, parentConfig, depth, config: options.config });
    }
    return undefined;
  }

  async #sources(cacheFrom: string[]): Promise<Source[]> {
    const out: Source[] = [];
    for (const name of cacheFrom) {
      const record = safeFind(this.#store, name);
      if (record) out.push({ record, config: await this.#store.config(record.id) });
    }
    return out;
  }

  /** Walks up from `of`; a repeated id ends the walk (the store breaks rings, this does not rely on it). */
  #isAncestor(id: string, of: string): boolean {
    const seen = new Set<string>();
    for (let next = this.#store.get(of)?.parent; next && !seen.has(next); next = this.#store.get(next)?.parent) {
      if (next === id) return true;
      seen.add(next);
    }
    return false;
  }

  /** moby's restoreCachedImage: the parent's history and layers plus the target's entry `depth` and its layer. */
  async #restore(target: Source, at: { parent?: ImageRecord; parentConfig?: ImageConfig; depth: number; config?: ImageRuntimeConfig | null }): Promise<string> {
    const entry = target.config.history![at.depth];
    const layerCount = (at.parentConfig?.rootfs.diff_ids.length ?? 0) + (entry.empty_layer ? 0 : 1);
    const history = [...(at.parentConfig?.history ?? []), entry];
    const config: ImageConfig = {
      architecture: target.config.architecture,
      os: target.config.os,
      ...(target.config.variant ? { variant: target.config.variant } : {}),
      ...(target.config.author ? { author: target.config.author } : {}),
      created: entry.created,
      config: at.config ?? at.parentConfig?.config ?? null,
      rootfs: { type: 'layers', diff_ids: target.config.rootfs.diff_ids.slice(0, layerCount) },
      history,
    };
    const id = await storeBytes(this.#blobs, Buffer.from(JSON.stringify(config)));
    const layers = target.record.layers.slice(0, layerCount);
    this.#store.put({ id, layers, repoDigests: [], size: layers.reduce((sum, l) => sum + l.size, 0), ...(at.parent ? { parent: at.parent.id } : {}) });
    return id;
  }
}

/** moby's isValidParent: the parent's history and diff IDs are a strict prefix of the image's. */
function isValidParent(image: ImageConfig, parent: ImageConfig | undefined): boolean {
  const history = image.history ?? [];
  if (!history.length) return false;
  const parentHistory = parent?.history ?? [];
  const parentDiffs = parent?.rootfs.diff_ids ?? [];
  if (!parentHistory.length && !parentDiffs.length) return true;
  if (parentHistory.length >= history.length || parentDiffs.length > image.rootfs.diff_ids.length) return false;
  return parentHistory.every((h, i) => sameEntry(h, history[i])) && parentDiffs.every((d, i) => d === image.rootfs.diff_ids[i]);
}

/** History entries compared field by field (moby compares the parsed structs; key order must not matter). */
function sameEntry(a: HistoryEntry, b: HistoryEntry): boolean {
  return (a.created ?? '') === (b.created ?? '') && (a.created_by ?? '') === (b.created_by ?? '') && (a.author ?? '') === (b.author ?? '') &&
    (a.comment ?? '') === (b.comment ?? '') && Boolean(a.empty_layer) === Boolean(b.empty_layer);
}

function safeFind(store: ImageStore, name: string): ImageRecord | undefined {
  try {
    return store.find(name);
  } catch {
    return undefined;
  }
}
