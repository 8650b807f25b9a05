/** One queued delivery: an event (as JSON) for one endpoint, in the order it was appended. */
export interface QueuedEvent {
  seq: number;
  event: string;
}

/** The right to deliver one endpoint's events (`NotificationQueue.claim`). */
export interface Claim {
  /** Gives it back; calling it twice is harmless. */
  release(): Promise<void>;
  /**
   * False once the claim is lost without a release: on PostgreSQL its lock connection dropped and another
   * replica took the endpoint before it was retaken. The sender then stops delivering and claims again.
   */
  readonly held: boolean;
}

/**
 * Events waiting for their endpoints, durable: what `append` resolved for is on disk and survives a crash or a
 * restart, and stays until `removeThrough` (after the endpoint took it). Per endpoint, `head` gives the oldest
 * (after `after`, for a sender whose acknowledgements are not yet written); one endpoint's events become visible
 * in the order of their seqs, so a sender reading past a seq never skips one committed later.
 */
export interface NotificationQueue {
  /** Appends events, each for its endpoints, in one transaction (all or none), in the order given. */
  append(entries: readonly { event: string; endpoints: readonly string[] }[]): Promise<void>;
  head(endpoint: string, after?: number): Promise<QueuedEvent | undefined>;
  /** Removes the endpoint's events up to and including `seq`, in one statement. */
  removeThrough(endpoint: string, seq: number): Promise<void>;
  count(endpoint: string): Promise<number>;
  /** Endpoint names with events queued, for a warning about names no longer configured. */
  endpointsQueued(): Promise<string[]>;
  /**
   * The right to deliver the endpoint's events, held by one sender at a time (across processes where `shared`);
   * undefined while another holds it. Lost with the holder's process, so a crash frees it at once.
   */
  claim(endpoint: string): Promise<Claim | undefined>;
  /** Other processes append to and deliver from this queue too (replicas on PostgreSQL): senders poll for their events. */
  readonly shared: boolean;
}
