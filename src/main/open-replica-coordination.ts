import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import { isPostgresUrl } from '../meta/meta-url.ts';
import type { ReplicaCoordination } from './replica-coordination.ts';

/** On PostgreSQL, the coordination of open-pg-coordination.ts (loaded only then: see openMeta). */
export async function openReplicaCoordination(config: Config, options: { logger?: Logger } = {}): Promise<ReplicaCoordination> {
  if (!isPostgresUrl(config.meta.url)) return { sharedUploads: false, close: async () => {} };
  return (await import('./open-pg-coordination.ts')).openPgCoordination(config, options);
}
