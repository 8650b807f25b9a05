import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../../base/log.ts';
import { mountAll, unmount } from '../snapshots/mount.ts';
import type { ContainerRecord } from './container-record.ts';
import type { ContainerResource } from './container-resources.ts';

const defaultShmSize = 64 * 1024 * 1024;

/** A HostConfig's /dev/shm size in bytes: its ShmSize, or moby's 64 MiB when that is 0 or unset. */
export function shmSizeOf(host: Record<string, unknown>): number {
  return Number(host.ShmSize ?? 0) || defaultShmSize;
}

/** Where a shareable container's /dev/shm lives on the host while it runs (moby's container ShmPath). */
export function shmPath(containerDir: string): string {
  return join(containerDir, 'shm');
}

const shareable = (record: ContainerRecord) => record.hostConfig.IpcMode === 'shareable';

/**
 * `--ipc shareable`: the container's /dev/shm is a tmpfs the engine mounts on the host (moby setupIpcDirs), so a
 * `--ipc container:X` joiner can bind the same one; a mount in the container's own namespace could not be bound
 * from outside it. Mounted before the process starts, unmounted after it exits.
 */
export function shmResource(containerDir: (id: string) => string, logger: Logger): ContainerResource {
  return {
    name: 'shm',
    acquire: async (record) => {
      if (!shareable(record)) return;
      const target = shmPath(containerDir(record.id));
      await mkdir(target, { recursive: true, mode: 0o700 });
      const size = shmSizeOf(record.hostConfig);
      await mountAll([{ type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'noexec', 'mode=1777', `size=${size}`] }], target);
    },
    release: async (record) => {
      await unmount(shmPath(containerDir(record.id))).catch((err) => logger.warn({ err, id: record.id }, 'unmounting /dev/shm failed'));
    },
    recover: (record) => unmount(shmPath(containerDir(record.id))),
    leftBehind: (record) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[4] === shmPath(containerDir(record.id))),
  };
}
