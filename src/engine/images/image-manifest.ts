import { Fault } from '../../base/fault.ts';
import { digestOf } from '../../oci/digest.ts';
import { mediaTypes } from '../../oci/media-types.ts';
import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import type { ImageRecord } from './image-store.ts';

export interface ImageManifest {
  bytes: Buffer;
  mediaType: string;
  digest: string;
}

const ociLayerTypes = new Set<string>([mediaTypes.ociLayer, mediaTypes.ociLayerGzip, mediaTypes.ociLayerZstd]);

/**
 * The manifest that describes a local image to the outside (push, save): the one it was pulled with when its
 * bytes are still stored, so the digest survives; otherwise one built from its layers as stored (Docker schema2,
 * or OCI when every layer is OCI).
 */
export async function imageManifest(blobs: BlobStore, image: ImageRecord): Promise<ImageManifest> {
  if (image.manifest && (await blobs.stat(image.manifest.digest))) {
    return { bytes: await readBlobBytes(blobs, image.manifest.digest), mediaType: image.manifest.mediaType, digest: image.manifest.digest };
  }
  const config = await blobs.stat(image.id);
  if (!config) throw new Fault('failed-precondition', `the config of image ${image.id} is not stored locally`);
  const layers = await Promise.all(
    image.layers.map(async (l) => {
      const stat = await blobs.stat(l.blob);
      if (!stat) throw new Fault('failed-precondition', `layer ${l.blob} of image ${image.id} is not stored locally (pull the image again)`);
      return { mediaType: l.mediaType, size: stat.size, digest: l.blob };
    }),
  );
  const oci = layers.every((l) => ociLayerTypes.has(l.mediaType));
  const mediaType = oci ? mediaTypes.ociManifest : mediaTypes.dockerManifest;
  const configType = oci ? mediaTypes.ociConfig : mediaTypes.dockerConfig;
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType, config: { mediaType: configType, size: config.size, digest: image.id }, layers }, null, 3));
  return { bytes, mediaType, digest: digestOf(bytes) };
}
