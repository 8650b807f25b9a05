import type { Logger } from '../../base/log.ts';
import { volumeNames } from '../volumes/container-mounts.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import type { ContainerResource } from './container-resources.ts';
import { recordMounts } from './container-spec.ts';

/** Volumes with driver options are mounted only while a container runs (moby's refcounted Mount/Unmount). */
export function volumeMountsResource(volumes: VolumeService, logger: Logger): ContainerResource {
  return {
    name: 'volume mounts',
    acquire: (record) => volumes.mountFor(record.id, volumeNames(recordMounts(record))),
    release: (record) =>
      volumes.unmountFor(record.id, volumeNames(recordMounts(record))).catch((err) => logger.warn({ err, id: record.id }, 'unmounting volumes failed')),
  };
}
