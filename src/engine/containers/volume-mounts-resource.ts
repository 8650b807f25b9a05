import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import { volumeNames } from '../volumes/container-mounts.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import type { ContainerRecord } from './container-record.ts';
import type { ContainerResource } from './container-resources.ts';
import { recordMounts } from './container-spec.ts';

/**
 * Volumes with driver options are mounted only while a container runs (moby's refcounted Mount/Unmount). Each
 * volume the container has gets moby's `mount` event at start and `unmount` after exit, with the same attributes.
 */
export function volumeMountsResource(volumes: VolumeService, events: EventLog, logger: Logger): ContainerResource {
  return {
    name: 'volume mounts',
    acquire: async (record) => {
      await volumes.mountFor(record.id, volumeNames(recordMounts(record)));
      for (const m of volumeMounts(record)) {
        const attributes = { container: record.id, destination: m.Destination, driver: m.Driver ?? 'local', propagation: m.Propagation, 'read/write': String(m.RW) };
        events.emit('volume', 'mount', { id: m.Name ?? '', attributes });
      }
    },
    release: async (record) => {
      try {
        await volumes.unmountFor(record.id, volumeNames(recordMounts(record)));
      } catch (err) {
        logger.warn({ err, id: record.id }, 'unmounting volumes failed');
      }
      for (const m of volumeMounts(record)) events.emit('volume', 'unmount', { id: m.Name ?? '', attributes: { container: record.id, driver: m.Driver ?? 'local' } });
    },
  };
}

function volumeMounts(record: ContainerRecord) {
  return recordMounts(record).filter((m) => m.Type === 'volume' && m.Name);
}
