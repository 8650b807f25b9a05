/** One image of the 2014 protocol: json + layer per id, chained by parent. Ids are global, as in docker 1.x. */
export interface V1ImageRecord {
  id: string;
  parent?: string;
  /** The image json exactly as the client sent it (or as derived from a v2 config). */
  json: string;
  /** Digest of the layer as uploaded (gzip or plain tar), in the shared BlobStore. */
  layerDigest?: string;
  layerSize?: number;
  /** sha256 of the uncompressed layer: the v2 config's diff_id. */
  diffId?: string;
  /** The payload checksum (`sha256:` of json + "\n" + layer) computed at upload; served as X-Docker-Checksum-Payload. */
  checksum?: string;
  /** Every checksum the upload computed (payload and TarSums): `PUT …/checksum` must name one of them. */
  checksums: string[];
  /** Pullable only once complete: checksum verified, or derived from v2 content. */
  complete: boolean;
  createdAt: string;
}

export interface V1LayerRecord {
  digest: string;
  size: number;
  diffId: string;
  checksum: string;
  checksums: string[];
}

/** An image derived from v2 content: complete from the start. */
export type V1DerivedImage = Pick<V1ImageRecord, 'id' | 'parent' | 'json'> & { layerDigest: string; layerSize: number; diffId: string };

/**
 * The legacy index's rows, beside the registry's. Besides images: the image list a client PUT for a repository
 * (the index's data), which repositories hold an image (who may read it), and which v2 manifest a v1 image
 * became (so both protocols name the same thing).
 */
export interface V1Store {
  getImage(id: string): Promise<V1ImageRecord | undefined>;
  /**
   * Inserts, or replaces while incomplete, an image's json; throws Fault already-exists ('Image already exists')
   * when the id is complete. `holder` is the repository the upload is for, when known.
   */
  putImageJson(image: Pick<V1ImageRecord, 'id' | 'parent' | 'json' | 'createdAt'>, holder?: string): Promise<void>;
  /**
   * Records an uploaded layer, and completes the image when `complete` (a checksum sent with the layer was
   * verified). False when the image changed meanwhile: its json was replaced, or it completed.
   */
  setLayer(id: string, expectedJson: string, layer: V1LayerRecord, complete: boolean): Promise<boolean>;
  /** Completes an image that has its layer; false when it has none or is already complete. */
  markComplete(id: string): Promise<boolean>;
  /** Stores v2-derived images (skipping ids already known), held by `repository`, in one transaction. */
  putDerivedImages(repository: string, images: V1DerivedImage[], createdAt: string): Promise<void>;
  /** The image and its parents, newest first; empty when the id is unknown. */
  ancestry(id: string): Promise<string[]>;
  /** After a tag was bridged: the manifest the image became, and the whole chain now held by the repository. */
  recordBridge(repository: string, bridge: { imageId: string; manifestDigest: string; chain: readonly string[] }): Promise<void>;
  /** The v1 image a manifest digest stands for, in any repository (content addressed, so one answer). */
  imageForManifest(manifestDigest: string): Promise<string | undefined>;
  manifestForImage(repository: string, imageId: string): Promise<string | undefined>;
  /** Repositories that hold the image: whoever may pull one of them may read it. */
  holders(id: string): Promise<string[]>;
  /** Records that the repository holds these images (idempotent). */
  hold(repository: string, ids: readonly string[]): Promise<void>;
  /** The image list a client PUT on /v1/repositories/<name>/ (checksums merged, never removed). */
  setRepositoryImages(repository: string, images: { id: string; checksum?: string }[]): Promise<void>;
  repositoryImages(repository: string): Promise<{ id: string; checksum?: string }[]>;
  /** Forgets the repository's image list, holdings and manifest links (the images themselves stay). */
  deleteRepository(repository: string): Promise<void>;
}
