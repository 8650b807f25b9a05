import type { Logger } from '../base/log.ts';
import type { RegistryService } from './registry-service.ts';

export interface UploadPurgerOptions {
  ageSeconds: number;
  intervalSeconds: number;
  logger: Logger;
  /** Delay of the first purge after start (a restart should not wait a whole interval). */
  firstDelayMs?: number;
}

/** Runs `service.purgeUploads` every interval in the background; `stop()` ends it. Timers never hold the process. */
export function startUploadPurger(service: RegistryService, options: UploadPurgerOptions): { stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const run = async () => {
    try {
      const purged = await service.purgeUploads(new Date(Date.now() - options.ageSeconds * 1000));
      if (purged.sessions || purged.ingests) options.logger.info(purged, 'purged abandoned uploads');
    } catch (err) {
      options.logger.warn({ err }, 'upload purge failed');
    }
    schedule(options.intervalSeconds * 1000);
  };
  const schedule = (ms: number) => {
    if (stopped) return;
    timer = setTimeout(() => void run(), ms);
    timer.unref();
  };
  schedule(options.firstDelayMs ?? 60_000);
  return {
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
