import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { imageManifest } from '../../engine/images/image-manifest.ts';
import { ImageStore } from '../../engine/images/image-store.ts';
import { parseManifest } from '../../oci/manifest.ts';
import type { ManifestDescriptor } from '../../registry/notifications/request-events.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { BlobStore } from '../../store/blob-store.ts';

export interface PublishDeps {
  registry: RegistryService;
  blobs: BlobStore;
  /** The wharf root the engine shares (its images are `<root>/engine/images/images.json`). */
  root: string;
}

/**
 * Makes an image the co-located engine built a registry image, nothing copied: the engine's record of it (read
 * only), its manifest as `docker push` would send it, each blob it names linked to `repository` (touched,
 * admitted by the quota), then the manifest put under every tag, each after `stillOurs` let it.
 */
export async function publishImage(deps: PublishDeps, imageId: string, repository: string, tags: string[], stillOurs: () => Promise<void>): Promise<ManifestDescriptor> {
  const dir = join(deps.root, 'engine', 'images');
  const image = new ImageStore({ dir, blobs: deps.blobs }).get(imageId);
  if (!image) throw new Fault('failed-precondition', `image ${imageId} is not in ${dir}/images.json: the engine must run on this registry's root`);
  const manifest = await imageManifest(deps.blobs, image);
  for (const blob of parseManifest(manifest.bytes, manifest.mediaType).blobs) await deps.registry.linkStoredBlob(repository, blob.digest);
  for (const tag of tags) {
    // Throws once the build is no longer this process's to publish (aborted, failed as stale).
    await stillOurs();
    await deps.registry.putManifest(repository, tag, manifest.bytes, manifest.mediaType);
  }
  return { digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.bytes.length };
}
