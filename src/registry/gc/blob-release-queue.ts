import type { Logger } from '../../base/log.ts';
import type { GarbageCollector } from './garbage-collector.ts';

export interface BlobReleaseQueueOptions {
  collector: Pick<GarbageCollector, 'release'>;
  /** The collection's grace period (`registry.gc.gracePeriodSeconds`): docs/architecture.md says why the same one. */
  graceSeconds: number;
  logger: Logger;
}

/**
 * The engine's BlobReleaser over the collector's targeted release. Releases run one at a time (each marks every
 * root), so digests asked for meanwhile join the next run. A candidate that stayed only because it was used
 * within the grace period is released once more when that has passed; if it stays again (used again since), or
 * this process ends first, the full collection frees it.
 */
export class BlobReleaseQueue {
  readonly #options: BlobReleaseQueueOptions;
  #running: Promise<void> = Promise.resolve();
  #queued: Promise<void> | undefined;
  #pending = new Set<string>();
  /** Digests already released once and kept as recent: not retried again. */
  #retried = new Set<string>();
  #timers = new Set<NodeJS.Timeout>();
  #closed = false;

  constructor(options: BlobReleaseQueueOptions) {
    this.#options = options;
  }

  /** Resolves when a run that includes `digests` has finished. */
  release(digests: string[]): Promise<void> {
    for (const digest of digests) this.#pending.add(digest);
    if (!this.#queued) {
      const run = this.#running.then(() => {
        this.#queued = undefined;
        const batch = [...this.#pending];
        this.#pending.clear();
        return this.#run(batch);
      });
      this.#queued = run;
      this.#running = run.catch(() => undefined);
    }
    return this.#queued;
  }

  /** Drops the pending retries and waits for a run in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#running;
  }

  async #run(batch: string[]): Promise<void> {
    const { collector, graceSeconds, logger } = this.#options;
    const started = Date.now();
    const result = await collector.release(batch, { graceSeconds });
    logger.info({ candidates: batch.length, blobs: result.blobs, bytes: result.bytes, recent: result.recent.length, ms: Date.now() - started }, 'freed the blobs of deleted images');
    const again = result.recent.filter((digest) => !this.#retried.has(digest));
    for (const digest of batch) this.#retried.delete(digest);
    if (!again.length || this.#closed) return;
    for (const digest of again) this.#retried.add(digest);
    // What it kept was used before this run ended: a grace period from now, that use is past any cutoff.
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      this.release(again).catch((err: unknown) => logger.warn({ err }, 'freeing the blobs of deleted images failed'));
    }, (graceSeconds + 1) * 1000);
    timer.unref();
    this.#timers.add(timer);
  }
}
