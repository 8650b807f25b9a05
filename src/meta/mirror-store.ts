/**
 * What a pull-through cache keeps beside the registry's rows: when each cached tag was last checked upstream
 * (tagTtlSeconds) and when each cached manifest was last pulled (expiry). A row belongs to a tag or manifest row
 * of the registry and goes with it (foreign keys, ON DELETE CASCADE): a manifest deleted by any path (expiry,
 * `--delete-untagged`, retention, the repository's deletion) leaves nothing behind here. Only manifests written
 * as cached have a use row, so expiry never touches what was pushed.
 */
export interface MirrorStore {
  /** When the tag was last checked upstream; undefined when never (or the tag is gone). */
  tagCheckedAt(repository: string, tag: string): Promise<Date | undefined>;
  /** Records a check of an existing tag; a no-op when the repository has no such tag. Never moves back in time. */
  markTagChecked(repository: string, tag: string, at: Date): Promise<void>;
  /**
   * Records that the manifest was written as cached (putCachedManifest, in its transaction): its use row, which
   * makes it subject to expiry. A no-op when the repository has no such manifest. Never moves back in time.
   */
  markCached(repository: string, digest: string, at: Date): Promise<void>;
  /**
   * Records a pull of a cached manifest: only updates the use row markCached wrote, so a pushed manifest (in a
   * repository whose name became mirrored later) never gets one and expiry never deletes it. Never moves back.
   */
  markUsed(repository: string, digest: string, at: Date): Promise<void>;
  /** Cached manifests last used before `cutoff`, least recently used first, at most `limit`. */
  unusedSince(cutoff: Date, limit: number): Promise<{ repository: string; digest: string }[]>;
  /** Drops the manifest's use row (its deletion does too; this is for a caller that keeps the manifest). */
  forget(repository: string, digest: string): Promise<void>;
}
