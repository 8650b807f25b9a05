import type { Logger } from '../../base/log.ts';
import type { GarbageCollector } from './garbage-collector.ts';

export interface GcSchedulerOptions {
  intervalSeconds: number;
  gracePeriodSeconds: number;
  deleteUntagged: boolean;
  logger: Logger;
  /** Runs before each collection (retention: what it deletes is collected in the same run); a failure is logged, the collection still runs. */
  beforeCollect?: () => Promise<void>;
}

/** Runs a collection every interval in the registry part (`registry.gc`); `stop()` ends it. Timers never hold the process. */
export function startGcScheduler(collector: Pick<GarbageCollector, 'collect'>, options: GcSchedulerOptions): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    try {
      await options.beforeCollect?.();
    } catch (err) {
      options.logger.warn({ err }, 'before garbage collection: retention failed');
    }
    try {
      const started = Date.now();
      const result = await collector.collect({ graceSeconds: options.gracePeriodSeconds, deleteUntagged: options.deleteUntagged });
      options.logger.info({ ...result, ms: Date.now() - started }, 'garbage collection done');
    } catch (err) {
      options.logger.warn({ err }, 'garbage collection failed');
    }
    schedule();
  };
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void run(), options.intervalSeconds * 1000);
    timer.unref();
  };
  schedule();
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
