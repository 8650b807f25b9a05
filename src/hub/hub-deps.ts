import type { FastifyRequest } from 'fastify';
import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import type { AuthServices } from '../auth/create-authorizer.ts';
import type { MetaStores } from '../meta/meta-stores.ts';
import type { RegistryEvents } from '../registry/notifications/request-events.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { BlobStore } from '../store/blob-store.ts';
import type { ActivityLog } from './activity/activity-log.ts';
import type { GcRuns } from './admin/gc-runs.ts';
import type { Builds } from './builds/builds.ts';
import type { HubAuth } from './hub-auth.ts';

/** What the hub's routes are built from (src/main/start-wharf.ts composes it). Each part adds its own field. */
export interface HubDeps {
  config: Config;
  logger: Logger;
  stores: MetaStores;
  registry: RegistryService;
  blobs: BlobStore;
  auth: HubAuth;
  authServices: AuthServices;
  /** The registry's events (notifications, activity): a tag deleted here is reported as one deleted through v2. */
  registryEvents?: RegistryEvents;
  /** The activity log (GET /api/v1/activity reads its store; builds record their pushes through it). */
  activity: ActivityLog;
  /** The registry's garbage collections, recorded (GET/POST /api/v1/gc/runs). */
  gc: GcRuns;
  /** Automated builds: autobuilds, the build queue, logs (the runner, when this process runs one, wakes on a queue). */
  builds: Builds;
  /** `registry.publicUrl`, else the origin the request came to: the base of URLs the API hands out. */
  publicUrl(request: FastifyRequest): string;
}
