import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { V1ImageRecord, V1Store } from '../../meta/v1-store.ts';
import { V1LayerDigester } from '../../oci/v1-layer-digests.ts';
import { parseV1ImageJson, validateV1Id } from '../../oci/v1-image.ts';
import type { BlobStore, ByteRange } from '../../store/blob-store.ts';

export interface V1ImagesDeps {
  v1: V1Store;
  blobs: BlobStore;
  now?: () => Date;
  newId?: () => string;
}

/** The checksum headers of `PUT …/checksum` (or, from clients before 0.7, of `PUT …/layer`). */
export interface DeclaredChecksums {
  /** X-Docker-Checksum-Payload: `sha256:` of json + "\n" + layer. Authoritative when present. */
  payload?: string;
  /** X-Docker-Checksum: a TarSum (`tarsum+sha256:…`, `tarsum.v1+…`, `tarsum.dev+…`) or a payload checksum. */
  checksum?: string;
}

/**
 * The image half of the 2014 registry: json, layer, checksum, ancestry. Ids are global as in docker 1.x; an image
 * is pullable only once complete. Messages are docker-registry's, which docker 1.x matched on
 * ('Image already exists' makes it skip an image).
 */
export class V1Images {
  readonly #v1: V1Store;
  readonly #blobs: BlobStore;
  readonly #now: () => Date;
  readonly #newId: () => string;

  constructor(deps: V1ImagesDeps) {
    this.#v1 = deps.v1;
    this.#blobs = deps.blobs;
    this.#now = deps.now ?? (() => new Date());
    this.#newId = deps.newId ?? randomUUID;
  }

  /** The image in any state, or undefined. */
  peek(id: string): Promise<V1ImageRecord | undefined> {
    return this.#v1.getImage(validateV1Id(id));
  }

  /** A complete image; not-found otherwise (an upload in progress is not there yet for pullers). */
  async get(id: string): Promise<V1ImageRecord> {
    const image = await this.#v1.getImage(validateV1Id(id));
    if (!image?.complete) throw new Fault('not-found', 'Image not found');
    return image;
  }

  holders(id: string): Promise<string[]> {
    return this.#v1.holders(validateV1Id(id));
  }

  /** Stores the json of an image about to be uploaded. The parent must exist, and no cycle may form. */
  async putJson(id: string, body: string, holder?: string): Promise<void> {
    const image = parseV1ImageJson(body, validateV1Id(id));
    if (image.parent) {
      if (!(await this.#v1.getImage(image.parent))) throw new Fault('invalid-argument', 'Image depends on a non existing parent');
      if ((await this.#v1.ancestry(image.parent)).includes(id)) throw new Fault('invalid-argument', 'Image depends on one of its descendants');
    }
    await this.#v1.putImageJson({ id, ...(image.parent ? { parent: image.parent } : {}), json: body, createdAt: this.#now().toISOString() }, holder);
  }

  /**
   * Streams a layer into the blob store while hashing it (payload, diff_id, TarSums). Nothing is committed unless
   * the layer reads as a (gzipped) tar and, when checksums came with it, one matches; then the image is complete.
   */
  async putLayer(id: string, body: Readable, options: { declared?: DeclaredChecksums; signal?: AbortSignal } = {}): Promise<{ complete: boolean }> {
    const image = await this.#v1.getImage(validateV1Id(id));
    if (!image) throw new Fault('not-found', 'Image not found');
    if (image.complete) throw new Fault('already-exists', 'Image already exists');
    const declared = declaredValue(options.declared);
    const digester = new V1LayerDigester(image.json);
    const writer = await this.#blobs.ingest(`v1-${this.#newId()}`);
    // Not pipeline(): it would destroy the request on a refused layer, and the client must still get its 400.
    body.once('error', (err) => digester.destroy(err));
    body.pipe(digester);
    try {
      await writer.write(digester, { signal: options.signal });
      const sums = digester.sums;
      const checksums = [sums.payload, ...sums.tarsums];
      if (declared !== undefined && !checksums.includes(declared)) throw new Fault('invalid-argument', 'Checksum mismatch, ignoring the layer');
      const info = await writer.commit({ digest: await writer.digest(), size: sums.size });
      const layer = { digest: info.digest, size: info.size, diffId: sums.diffId, checksum: sums.payload, checksums };
      if (!(await this.#v1.setLayer(id, image.json, layer, declared !== undefined))) {
        throw new Fault('conflict', `image ${id} changed while its layer was uploaded`);
      }
      return { complete: declared !== undefined };
    } catch (err) {
      body.unpipe(digester);
      digester.destroy();
      await writer.cancel().catch(() => undefined);
      throw err;
    }
  }

  /**
   * docker 1.x's last step per image. The payload checksum, when sent, decides (the TarSum it sends beside it
   * is computed by the same upload, so either would do); otherwise X-Docker-Checksum must be one of the upload's.
   */
  async putChecksum(id: string, declared: DeclaredChecksums): Promise<void> {
    const value = declaredValue(declared);
    if (value === undefined) throw new Fault('invalid-argument', "Missing Image's checksum");
    const image = await this.#v1.getImage(validateV1Id(id));
    if (!image) throw new Fault('not-found', 'Image not found');
    if (image.complete) throw new Fault('already-exists', 'Image already exists');
    if (!image.layerDigest || !image.checksums.includes(value)) throw new Fault('invalid-argument', 'Checksum mismatch');
    if (!(await this.#v1.markComplete(id))) throw new Fault('already-exists', 'Image already exists');
  }

  /** The image and its parents, newest first; every one must be complete. */
  async ancestry(id: string): Promise<string[]> {
    await this.get(id);
    return this.#v1.ancestry(id);
  }

  /** The chain oldest first, every image complete with a layer; not-found otherwise. */
  async chain(id: string): Promise<V1ImageRecord[]> {
    const ids = (await this.#v1.ancestry(validateV1Id(id))).reverse();
    if (ids.length === 0) throw new Fault('not-found', 'Image not found');
    const chain: V1ImageRecord[] = [];
    for (const imageId of ids) {
      const image = await this.#v1.getImage(imageId);
      if (!image?.complete || !image.layerDigest) throw new Fault('not-found', 'Image not found');
      chain.push(image);
    }
    return chain;
  }

  /** The layer of a complete image as uploaded, or a byte range of it. */
  async openLayer(image: V1ImageRecord, range?: ByteRange): Promise<Readable> {
    if (!image.complete || !image.layerDigest) throw new Fault('not-found', 'Image not found');
    return this.#blobs.read(image.layerDigest, range);
  }
}

function declaredValue(declared: DeclaredChecksums | undefined): string | undefined {
  return declared?.payload || declared?.checksum || undefined;
}
