/** One queued delivery: an event (as JSON) for one endpoint, in the order it was appended. */
export interface QueuedEvent {
  seq: number;
  event: string;
}

/**
 * Events waiting for their endpoints, durable: what `append` returned from is on disk and survives a crash or a
 * restart, and stays until `removeThrough` (after the endpoint took it). Per endpoint, `head` gives the oldest
 * (after `after`, for a sender whose acknowledgements are not yet written).
 */
export interface NotificationQueue {
  /** Appends events, each for its endpoints, in one transaction (all or none), in the order given. */
  append(entries: readonly { event: string; endpoints: readonly string[] }[]): void;
  head(endpoint: string, after?: number): QueuedEvent | undefined;
  /** Removes the endpoint's events up to and including `seq`, in one statement. */
  removeThrough(endpoint: string, seq: number): void;
  count(endpoint: string): number;
  /** Endpoint names with events queued, for a warning about names no longer configured. */
  endpointsQueued(): string[];
}
