/** Gives the lock back; called exactly once, when the writer holding it is released. */
export type IngestLockRelease = () => Promise<void>;

/**
 * One writer per ingest ref across everything sharing the storage: this process (InProcessIngestLocks) or
 * every replica on one database (a PostgreSQL implementation). DriverBlobStore asks before opening an ingest.
 */
export interface IngestLocks {
  /** The lock's release when `ref` was free and is now held; undefined when someone holds it. */
  tryAcquire(ref: string): Promise<IngestLockRelease | undefined>;
}

/** The default: refs held by this process only; another process sharing the storage is not guarded against. */
export class InProcessIngestLocks implements IngestLocks {
  #held = new Set<string>();

  async tryAcquire(ref: string): Promise<IngestLockRelease | undefined> {
    // No await before the check: two racing calls cannot both take the ref.
    if (this.#held.has(ref)) return undefined;
    this.#held.add(ref);
    let released = false;
    return async () => {
      if (released) return;
      released = true;
      this.#held.delete(ref);
    };
  }
}
