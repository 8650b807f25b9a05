import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { GcLock } from '../../meta/gc-lock.ts';
import type { GcRunRecord, GcRunStore, GcTrigger } from '../../meta/gc-run-store.ts';
import type { CollectOptions, CollectResult, GarbageCollector } from '../../registry/gc/garbage-collector.ts';

export interface GcRunsOptions {
  /** The registry's collector (metered when metrics are on), without a lock of its own. */
  collector: Pick<GarbageCollector, 'collect'>;
  /** The replicas' GC lock (PostgreSQL); a run that removes something holds it. */
  lock?: GcLock;
  store: GcRunStore;
  logger: Logger;
  /** registry.gc: what a run started through the API uses unless it says otherwise. */
  gracePeriodSeconds: number;
  deleteUntagged: boolean;
  now?: () => Date;
}

/** Why a run left `running` by a process that stopped mid-run is failed. */
export const interruptedError = 'interrupted: the process running it stopped';

/** A run the caller may start through the API (POST /api/v1/gc/runs). */
export interface GcRunRequest {
  dryRun?: boolean;
  deleteUntagged?: boolean;
}

interface Begun {
  record: GcRunRecord;
  end(outcome: { result: CollectResult } | { err: unknown }): Promise<void>;
}

/**
 * Garbage collections, recorded (GcRunStore): the scheduler's, `wharf gc`'s and the API's all go through `run` or
 * `start`. One at a time in this process; a run that removes something also holds the replicas' GC lock. A run
 * is recorded once it holds both, so a scheduled turn that finds another replica collecting leaves no row.
 */
export class GcRuns {
  readonly #options: GcRunsOptions;
  #busy = false;
  #background: Promise<void> | undefined;

  constructor(options: GcRunsOptions) {
    this.#options = options;
  }

  /** One collection to its end: its result, or its error once recorded. A conflict when one is running. */
  async run(trigger: GcTrigger, options: CollectOptions): Promise<CollectResult> {
    const begun = await this.#begin(trigger, options.dryRun ?? false);
    try {
      const result = await this.#options.collector.collect(options);
      await begun.end({ result });
      return result;
    } catch (err) {
      await begun.end({ err });
      throw err;
    }
  }

  /** Starts a collection in the background (the API's): answers its running row, or a conflict at once. */
  async start(request: GcRunRequest): Promise<GcRunRecord> {
    const dryRun = request.dryRun ?? false;
    const begun = await this.#begin('api', dryRun);
    const options = { graceSeconds: this.#options.gracePeriodSeconds, dryRun, deleteUntagged: request.deleteUntagged ?? this.#options.deleteUntagged };
    this.#background = (async () => {
      try {
        const result = await this.#options.collector.collect(options);
        this.#options.logger.info({ ...result, run: begun.record.id }, 'garbage collection done');
        await begun.end({ result });
      } catch (err) {
        this.#options.logger.warn({ err, run: begun.record.id }, 'garbage collection failed');
        await begun.end({ err });
      }
    })();
    return begun.record;
  }

  list(limit?: number): Promise<GcRunRecord[]> {
    return this.#options.store.list(limit);
  }

  /**
   * At start in a single process (no replicas' lock): every run still `running` was cut off when the process
   * before this one stopped. With the lock, each real run cleans up instead (another replica's may be alive).
   */
  async recoverInterrupted(): Promise<void> {
    if (!this.#options.lock) await this.#failInterrupted(true);
  }

  /** Waits for a run started through `start` to end (so its row is finished before the database closes). */
  async close(): Promise<void> {
    await this.#background;
  }

  async #begin(trigger: GcTrigger, dryRun: boolean): Promise<Begun> {
    // Taken before the first await: two requests in one turn cannot both pass.
    if (this.#busy) throw new Fault('conflict', 'a garbage collection is already running');
    this.#busy = true;
    let release: (() => Promise<void>) | undefined;
    try {
      if (!dryRun && this.#options.lock) {
        release = await this.#options.lock.tryLock();
        if (!release) throw new Fault('conflict', 'another garbage collection is running on this database');
      }
      // Every real run holds the lock: a real run still `running` now was cut off with its process.
      if (release) await this.#failInterrupted(false);
      const record = await this.#options.store.start({ trigger, dryRun, startedAt: this.#now() });
      return { record, end: (outcome) => this.#end(record.id, outcome, release) };
    } catch (err) {
      await release?.();
      this.#busy = false;
      throw err;
    }
  }

  async #end(id: number, outcome: { result: CollectResult } | { err: unknown }, release?: () => Promise<void>): Promise<void> {
    const finishedAt = this.#now();
    try {
      await this.#options.store.finish(id, 'result' in outcome
        ? { finishedAt, blobsRemoved: outcome.result.blobs, bytesFreed: outcome.result.bytes, manifestsRemoved: outcome.result.manifests }
        : { finishedAt, error: errorText(outcome.err) });
    } catch (err) {
      this.#options.logger.warn({ err, run: id }, 'garbage collection run not recorded as finished');
    } finally {
      try {
        await release?.();
      } finally {
        this.#busy = false;
      }
    }
  }

  async #failInterrupted(dryRuns: boolean): Promise<void> {
    const failed = await this.#options.store.failRunning({ finishedAt: this.#now(), error: interruptedError, dryRuns });
    if (failed > 0) this.#options.logger.warn({ runs: failed }, 'garbage collection runs interrupted by a stop marked failed');
  }

  #now(): string {
    return (this.#options.now?.() ?? new Date()).toISOString();
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
