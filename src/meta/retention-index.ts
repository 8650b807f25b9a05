/** A tag as retention sees it: `updatedAt` is when it was last pushed (pointed at its manifest). */
export interface TagRecord {
  repository: string;
  tag: string;
  digest: string;
  updatedAt: string;
}

/** What `wharf retention` reads and deletes besides the manifests garbage collection already lists (GcIndex). */
export interface RetentionIndex {
  /** Every tag of every repository. */
  tags(): Promise<TagRecord[]>;
  /** Deletes the tag only if it still points at `digest` (a push since the plan wins). */
  deleteTagAt(repository: string, tag: string, digest: string): Promise<boolean>;
}
