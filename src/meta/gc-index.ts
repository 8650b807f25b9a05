/** A manifest row as garbage collection sees it. */
export interface GcManifest {
  repository: string;
  digest: string;
  mediaType: string;
  /** The OCI subject, when the manifest is a referrer. */
  subject?: string;
  createdAt: string;
  tagged: boolean;
}

/** An index's entry: `child` is listed by `parent` in `repository`. */
export interface GcChild {
  repository: string;
  parent: string;
  child: string;
}

/**
 * What the registry's metadata holds for garbage collection: the rows it marks from, a re-check of one digest
 * just before its blob goes, and the removal of an untagged manifest under the same re-check.
 */
export interface GcIndex {
  /** Every manifest row of every repository. */
  manifests(): Promise<GcManifest[]>;
  children(): Promise<GcChild[]>;
  /** Layer digests of every legacy (v1) image: each is a root, v1 images are never deleted. */
  v1Layers(): Promise<string[]>;
  /** True when a manifest row or a v1 image names the digest at this moment. */
  isReferenced(digest: string): Promise<boolean>;
  /**
   * Deletes the manifest in one transaction if, at that moment, no tag points at it, no manifest of the
   * repository lists it, its subject (when it has one) is not a manifest of the repository, and it was created
   * before `createdBefore` (ISO 8601). False otherwise.
   */
  deleteUntagged(repository: string, digest: string, createdBefore: string): Promise<boolean>;
}
