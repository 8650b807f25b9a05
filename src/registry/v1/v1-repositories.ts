import { Fault, isFault } from '../../base/fault.ts';
import { type MetaTransaction, withoutTransaction } from '../../meta/meta-transaction.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { V1Store } from '../../meta/v1-store.ts';
import { configMediaTypes, indexMediaTypes, mediaTypes } from '../../oci/media-types.ts';
import { validateRepositoryName, validateTag } from '../../oci/reference.ts';
import { bridgeV1Chain, deriveV1Chain, selectV1Platform } from '../../oci/v1-bridge.ts';
import { validateV1Id } from '../../oci/v1-image.ts';
import { v1NameCandidates } from '../../oci/v1-routes.ts';
import { digestOf } from '../../oci/digest.ts';
import type { RegistryService } from '../registry-service.ts';
import type { V1Images } from './v1-images.ts';

export interface V1RepositoriesDeps {
  v1: V1Store;
  images: V1Images;
  registry: RegistryService;
  meta: MetadataStore;
  /** One transaction over `meta` and `v1` (the backend's); without it each store call commits on its own. */
  transaction?: MetaTransaction;
  now?: () => Date;
}

/** The OCI artifact type under which an X-Docker-Sign value is kept, as a referrer of the tagged manifest. */
export const dockerSignArtifactType = 'application/vnd.wharf.docker-sign.v1';

export interface ImageListEntry {
  id: string;
  checksum?: string;
}

// A config larger than this is not read to derive v1 ids (configs are a few KiB; the cap bounds memory).
const maxConfigBytes = 4 * 1024 * 1024;

/**
 * The repository half of the 2014 protocol on wharf's one store. Tags are the v2 tags: setting one bridges the
 * v1 chain into a v2 config + schema2 manifest through RegistryService (so v2 rows and links are right); listing
 * them shows v2-pushed images under v1 ids derived from their content.
 */
export class V1Repositories {
  readonly #v1: V1Store;
  readonly #images: V1Images;
  readonly #registry: RegistryService;
  readonly #meta: MetadataStore;
  readonly #transaction: MetaTransaction;
  readonly #now: () => Date;

  constructor(deps: V1RepositoriesDeps) {
    this.#v1 = deps.v1;
    this.#images = deps.images;
    this.#registry = deps.registry;
    this.#meta = deps.meta;
    this.#transaction = deps.transaction ?? withoutTransaction;
    this.#now = deps.now ?? (() => new Date());
  }

  /** The v2 repository a v1 name means: the first spelling that exists (`busybox`, `library/busybox`), else the first. */
  async resolve(name: string): Promise<string> {
    const candidates = v1NameCandidates(name);
    for (const candidate of candidates) validateRepositoryName(candidate);
    for (const candidate of candidates) if (await this.#meta.getRepository(candidate)) return candidate;
    return candidates[0];
  }

  async exists(repository: string): Promise<boolean> {
    return (await this.#meta.getRepository(repository)) !== undefined;
  }

  /**
   * The index's `PUT /v1/repositories/<name>/`: the repository exists from now on, with the announced images.
   * Announced images already stored that the pusher may read (`readable(holders)`: a base image pulled from here)
   * become held by the repository, so the push's token reads and tags them without uploading them again.
   */
  async startPush(repository: string, images: ImageListEntry[], readable: (holders: string[]) => boolean): Promise<void> {
    await this.#transaction(async () => {
      await this.#meta.ensureRepository(repository);
      await this.#v1.setRepositoryImages(repository, images);
      const known: string[] = [];
      for (const { id } of images) {
        const image = await this.#v1.getImage(id);
        if (image?.complete && readable(await this.#v1.holders(id))) known.push(id);
      }
      await this.#v1.hold(repository, known);
    });
  }

  /** The index's `PUT …/images` at the end of a push: the checksums. */
  async finishPush(repository: string, images: ImageListEntry[]): Promise<void> {
    await this.#transaction(async () => {
      await this.#meta.ensureRepository(repository);
      await this.#v1.setRepositoryImages(repository, images);
    });
  }

  /** What the index lists: the pushed image list, plus every image behind the tags (v2-pushed ones included). */
  async imageList(repository: string): Promise<ImageListEntry[]> {
    const tags = await this.tags(repository);
    const listed = await this.#v1.repositoryImages(repository);
    const seen = new Set(listed.map((image) => image.id));
    for (const id of Object.values(tags)) {
      for (const ancestor of await this.#v1.ancestry(id)) {
        if (!seen.has(ancestor)) listed.push({ id: ancestor });
        seen.add(ancestor);
      }
    }
    return listed;
  }

  /** Tag -> v1 id, whichever protocol pushed the image; tags whose image has no v1 form are left out. */
  async tags(repository: string): Promise<Record<string, string>> {
    if (!(await this.exists(repository))) throw new Fault('not-found', 'Repository not found');
    const out: Record<string, string> = {};
    for (const tag of await this.#meta.listTags(repository)) {
      const digest = await this.#meta.resolveTag(repository, tag);
      const id = digest ? await this.#imageIdFor(repository, digest) : undefined;
      if (id) out[tag] = id;
    }
    return out;
  }

  async tag(repository: string, tag: string): Promise<{ id: string; signature?: string }> {
    validateTag(tag);
    const digest = await this.#meta.resolveTag(repository, tag);
    const id = digest ? await this.#imageIdFor(repository, digest) : undefined;
    if (!id) throw new Fault('not-found', 'Tag not found');
    const signature = await this.signatureOf(repository, id);
    return { id, ...(signature !== undefined ? { signature } : {}) };
  }

  /**
   * Points a tag at a v1 image: the chain becomes a v2 image under the same tag. Each image of the chain must be
   * held by the repository already, or be usable by the caller (`usable(holders)`: held by something they may
   * pull, or by nothing); otherwise it is 'Image not found', as if absent.
   */
  async setTag(repository: string, tag: string, id: string, options: { usable: (holders: string[]) => boolean; signature?: string }): Promise<void> {
    validateTag(tag);
    const chain = await this.#images.chain(validateV1Id(id));
    for (const image of chain) {
      const holders = await this.#v1.holders(image.id);
      if (!holders.includes(repository) && !options.usable(holders)) throw new Fault('not-found', 'Image not found');
    }
    const bridged = bridgeV1Chain(
      chain.map((image) => ({ json: image.json, layerDigest: image.layerDigest ?? '', layerSize: image.layerSize ?? 0, diffId: image.diffId ?? '' })),
    );
    for (const layer of bridged.layers) await this.#meta.linkBlob(repository, layer);
    await this.#storeBlob(repository, bridged.config);
    // The bytes first; the manifest and tag rows and the bridge's commit together (or neither does).
    const prepared = await this.#registry.prepareManifest(repository, tag, bridged.manifest, mediaTypes.dockerManifest);
    const digest = await this.#transaction(async () => {
      const written = await prepared.writeRows();
      await this.#v1.recordBridge(repository, { imageId: id, manifestDigest: written.digest, chain: chain.map((image) => image.id) });
      return written.digest;
    });
    if (options.signature !== undefined) await this.#attachSignature(repository, { digest, size: bridged.manifest.length }, options.signature);
  }

  async deleteTag(repository: string, tag: string): Promise<void> {
    validateTag(tag);
    if (!(await this.#meta.deleteTag(repository, tag))) throw new Fault('not-found', 'Tag not found');
  }

  /** Removes the repository from both protocols (tags, manifests, links, the index's rows); images stay. */
  async deleteRepository(repository: string): Promise<boolean> {
    if (!(await this.exists(repository))) return false;
    await this.#transaction(async () => {
      await this.#meta.deleteRepository(repository);
      await this.#v1.deleteRepository(repository);
    });
    return true;
  }

  /** The X-Docker-Sign value kept for an image in this repository, if any. */
  async signatureOf(repository: string, imageId: string): Promise<string | undefined> {
    const manifest = await this.#v1.manifestForImage(repository, imageId);
    if (!manifest) return undefined;
    const [referrer] = await this.#meta.listReferrers(repository, manifest, { artifactType: dockerSignArtifactType });
    if (!referrer) return undefined;
    const body = JSON.parse((await this.#registry.manifestBody(referrer.digest)).toString('utf8')) as { layers: { digest: string }[] };
    return (await this.#registry.manifestBody(body.layers[0].digest)).toString('utf8');
  }

  /** One signature per image and repository: the new referrer replaces the ones before it. */
  async #attachSignature(repository: string, subject: { digest: string; size: number }, signature: string): Promise<void> {
    const empty = Buffer.from('{}');
    const payload = Buffer.from(signature);
    await this.#storeBlob(repository, empty);
    await this.#storeBlob(repository, payload);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: mediaTypes.ociManifest,
        artifactType: dockerSignArtifactType,
        config: { mediaType: mediaTypes.ociEmpty, digest: digestOf(empty), size: empty.length },
        layers: [{ mediaType: 'text/plain', digest: digestOf(payload), size: payload.length }],
        subject: { mediaType: mediaTypes.dockerManifest, ...subject },
      }),
    );
    const { digest } = await this.#registry.putManifest(repository, digestOf(manifest), manifest, mediaTypes.ociManifest);
    for (const old of await this.#meta.listReferrers(repository, subject.digest, { artifactType: dockerSignArtifactType })) {
      if (old.digest !== digest) await this.#meta.deleteManifest(repository, old.digest);
    }
  }

  async #storeBlob(repository: string, body: Buffer): Promise<void> {
    const digest = digestOf(body);
    await this.#registry.storeBytes(digest, body);
    await this.#meta.linkBlob(repository, { digest, size: body.length });
  }

  /**
   * The v1 id of the image a manifest stands for. A bridged v1 image keeps its client's id (in any repository:
   * the digest is the content); a v2 image gets a chain derived from its config and layers, written once and
   * held by the repository so its readers may read it. An index stands for its linux/amd64 entry.
   */
  async #imageIdFor(repository: string, manifestDigest: string): Promise<string | undefined> {
    const known = await this.#v1.imageForManifest(manifestDigest);
    if (known) {
      if (!(await this.#v1.manifestForImage(repository, known))) {
        await this.#v1.recordBridge(repository, { imageId: known, manifestDigest, chain: await this.#v1.ancestry(known) });
      }
      return known;
    }
    const record = await this.#meta.getManifest(repository, manifestDigest);
    if (!record) return undefined;
    try {
      const manifest = JSON.parse((await this.#registry.manifestBody(manifestDigest)).toString('utf8')) as ManifestJson;
      const id = indexMediaTypes.includes(record.mediaType) ? await this.#idForIndex(repository, manifest) : await this.#deriveFrom(repository, manifestDigest, manifest);
      if (id && indexMediaTypes.includes(record.mediaType)) {
        await this.#v1.recordBridge(repository, { imageId: id, manifestDigest, chain: await this.#v1.ancestry(id) });
      }
      return id;
    } catch (err) {
      // Content that does not parse has no v1 form; a store failure is a real error.
      if (err instanceof SyntaxError || isFault(err, 'invalid-argument')) return undefined;
      throw err;
    }
  }

  async #idForIndex(repository: string, index: ManifestJson): Promise<string | undefined> {
    const entry = selectV1Platform(Array.isArray(index.manifests) ? index.manifests : []);
    return entry ? this.#imageIdFor(repository, entry.digest) : undefined;
  }

  async #deriveFrom(repository: string, manifestDigest: string, manifest: ManifestJson): Promise<string | undefined> {
    const config = manifest.config;
    if (!config || !configMediaTypes.includes(config.mediaType) || config.size > maxConfigBytes) return undefined;
    const configJson = JSON.parse((await this.#registry.manifestBody(config.digest)).toString('utf8')) as Record<string, unknown>;
    const chain = deriveV1Chain({ configDigest: config.digest, config: configJson, layers: Array.isArray(manifest.layers) ? manifest.layers : [] });
    if (!chain) return undefined;
    const top = chain[chain.length - 1].id;
    await this.#transaction(async () => {
      await this.#v1.putDerivedImages(repository, chain, this.#now().toISOString());
      await this.#v1.recordBridge(repository, { imageId: top, manifestDigest, chain: chain.map((image) => image.id) });
    });
    return top;
  }
}

interface ManifestJson {
  config?: { mediaType: string; digest: string; size: number };
  layers?: { mediaType: string; digest: string; size: number }[];
  manifests?: { mediaType: string; digest: string; platform?: { os?: string; architecture?: string } }[];
}
