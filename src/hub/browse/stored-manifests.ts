import { isFault } from '../../base/fault.ts';
import type { ManifestRecord } from '../../meta/metadata-store.ts';
import { configMediaTypes } from '../../oci/media-types.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import { emptyShape, type ManifestShape, readImageConfig, readManifestShape, type StoredDescriptor, type StoredImageConfig } from './stored-json.ts';

/** Configs above this are not read (config null): an image's config is kilobytes; the cap bounds what one request holds. */
export const maxConfigBytes = 4 * 1024 * 1024;
/** Bytes of child manifests and configs one request reads at most (what it holds at once is less: reads are bounded). */
export const defaultBudgetBytes = 32 * 1024 * 1024;

/**
 * A repository's stored manifests and image configs, read through the registry (its manifest cache, its blob
 * links) and parsed leniently (stored-json.ts). What is missing (a pull-through cache's child or config not
 * fetched yet, a blob gone) reads as absent, not as an error.
 */
export class StoredManifests {
  readonly #registry: RegistryService;
  readonly #repository: string;
  readonly #maxConfigBytes: number;
  #budget: number;
  #refused = false;

  constructor(registry: RegistryService, repository: string, options: { maxConfigBytes?: number; budgetBytes?: number } = {}) {
    this.#registry = registry;
    this.#repository = repository;
    this.#maxConfigBytes = options.maxConfigBytes ?? maxConfigBytes;
    this.#budget = options.budgetBytes ?? defaultBudgetBytes;
  }

  /** Whether a read was refused for the budget: what was summarised since is incomplete (and not to be cached). */
  get refused(): boolean {
    return this.#refused;
  }

  /** Takes `bytes` from the request's budget; false (and `refused`) when it has not that much left. */
  take(bytes: number): boolean {
    if (bytes > this.#budget) {
      this.#refused = true;
      return false;
    }
    this.#budget -= bytes;
    return true;
  }

  get repository(): string {
    return this.#repository;
  }

  /** The manifest row a tag or digest names, undefined when the repository does not hold it. */
  async record(reference: string): Promise<ManifestRecord | undefined> {
    return absentWhenMissing(() => this.#registry.resolveManifest(this.#repository, reference));
  }

  async shape(digest: string): Promise<ManifestShape> {
    const body = await absentWhenMissing(() => this.#registry.manifestBody(digest));
    return body ? readManifestShape(body) : emptyShape;
  }

  /**
   * The image config a manifest names, when it is one (by media type), linked here, stored, small enough (the
   * smaller of `maxBytes` and the store's cap) and within the request's budget.
   */
  async config(descriptor: StoredDescriptor | undefined, maxBytes = this.#maxConfigBytes): Promise<StoredImageConfig | undefined> {
    const cap = Math.min(maxBytes, this.#maxConfigBytes);
    if (!descriptor || !configMediaTypes.includes(descriptor.mediaType) || descriptor.size > cap) return undefined;
    const info = await absentWhenMissing(() => this.#registry.statBlob(this.#repository, descriptor.digest));
    if (!info || info.size > cap || !this.take(info.size)) return undefined;
    const body = await absentWhenMissing(() => this.#registry.manifestBody(info.digest));
    return body ? readImageConfig(body) : undefined;
  }
}

async function absentWhenMissing<T>(read: () => Promise<T>): Promise<T | undefined> {
  try {
    return await read();
  } catch (err) {
    if (isFault(err, 'not-found')) return undefined;
    throw err;
  }
}
