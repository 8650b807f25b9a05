/**
 * One garbage collection at a time across every process on one database (registry replicas' schedulers and
 * `wharf gc`). Not needed for safety (concurrent collections only repeat work: a blob one puts back the other
 * leaves), but two sweeps of the same store double the I/O and the logs.
 */
export interface GcLock {
  /** The lock, or undefined while another collection holds it. The function gives it back. */
  tryLock(): Promise<(() => Promise<void>) | undefined>;
}
