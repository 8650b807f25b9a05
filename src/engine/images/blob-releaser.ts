/**
 * Frees the blobs of images the engine deleted when nothing else names them: a targeted garbage collection over
 * the shared BlobStore with the same rule as the full one (the registry's rows, v1 layers, the engine's records
 * and leases, the grace period). src/main wires the registry's collector in; the engine only names the seam.
 */
export interface BlobReleaser {
  /** Frees what it may of `digests` now; what was used within the grace period is left to a later release or collection. */
  release(digests: string[]): Promise<void>;
}

/** The blobs an image record names: its config, its layers and the manifest it was pulled with. */
export function blobsOfImage(image: { id: string; layers: { blob: string }[]; manifest?: { digest: string } }): string[] {
  return [image.id, ...image.layers.map((layer) => layer.blob), ...(image.manifest ? [image.manifest.digest] : [])];
}
