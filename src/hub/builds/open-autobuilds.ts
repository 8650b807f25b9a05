import type { Config } from '../../base/config.ts';
import type { Logger } from '../../base/log.ts';
import type { BuildStore } from '../../meta/build-store.ts';
import type { RequestEvents } from '../../registry/notifications/request-events.ts';
import type { RegistryService } from '../../registry/registry-service.ts';
import type { BlobStore } from '../../store/blob-store.ts';
import { BuildRunner } from './build-runner.ts';
import { Builds } from './builds.ts';

export interface AutobuildsDeps {
  config: Config;
  store: BuildStore;
  registry: RegistryService;
  blobs: BlobStore;
  logger: Logger;
  /** Pushes go there as actor `autobuild` (the activity log and the notification endpoints). */
  events?: RequestEvents;
}

export interface Autobuilds {
  builds: Builds;
  /** Starts the runner when hub.builds.enabled (sweeping what a stopped process left first). */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The registry process's automated builds: the service the API uses and, when enabled, the runner. */
export function openAutobuilds(deps: AutobuildsDeps): Autobuilds {
  const { config, logger } = deps;
  const settings = config.hub.builds;
  let runner: BuildRunner | undefined;
  const builds = new Builds({ store: deps.store, root: config.root, queuePerRepository: settings.queuePerRepository, onQueued: () => runner?.wake() });
  return {
    builds,
    start: async () => {
      if (!settings.enabled) return;
      runner = new BuildRunner({
        builds,
        publish: { registry: deps.registry, blobs: deps.blobs, root: config.root },
        socket: config.engine.socket,
        concurrency: settings.concurrency,
        perRepository: settings.perRepository,
        timeoutSeconds: settings.timeoutSeconds,
        logMaxBytes: settings.logMaxBytes,
        logger,
        events: deps.events,
      });
      await runner.start();
    },
    close: async () => {
      await runner?.close();
    },
  };
}

