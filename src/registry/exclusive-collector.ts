import { Fault } from '../base/fault.ts';
import type { GcLock } from '../meta/gc-lock.ts';
import type { CollectOptions, CollectResult, GarbageCollector } from './gc/garbage-collector.ts';

/**
 * A collector that runs only while it holds the GC lock: with replicas, each scheduler's turn finds the lock
 * taken while another replica (or `wharf gc`) collects, and that turn fails with a conflict the scheduler logs.
 */
export class ExclusiveCollector {
  readonly #collector: Pick<GarbageCollector, 'collect'>;
  readonly #lock: GcLock;

  constructor(collector: Pick<GarbageCollector, 'collect'>, lock: GcLock) {
    this.#collector = collector;
    this.#lock = lock;
  }

  async collect(options: CollectOptions): Promise<CollectResult> {
    const release = await this.#lock.tryLock();
    if (!release) throw new Fault('conflict', 'another garbage collection is running on this database');
    try {
      return await this.#collector.collect(options);
    } finally {
      await release();
    }
  }
}
