import { join } from 'node:path';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import type { ImageService } from '../images/image-service.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import type { ContainerNetworking } from './container-networking.ts';
import { ContainerIo } from './container-io.ts';
import { ContainerLog } from './container-log.ts';
import { logSettings, normalizeLogConfig, type LogConfigInput, type LogSettings } from './log-config.ts';
import type { ContainerRecord } from './container-record.ts';
import type { ContainerResource } from './container-resources.ts';
import { shmResource } from './shm-resource.ts';
import type { StateWaiters } from './container-state.ts';
import type { ContainerStore } from './container-store.ts';
import type { HealthMonitor } from './health-config.ts';
import type { ContainerProcess, Runtime } from './runtime.ts';
import { networkResource } from './network-resource.ts';
import { volumeMountsResource } from './volume-mounts-resource.ts';

export interface ContainerManagerDeps {
  store: ContainerStore;
  images: ImageService;
  snapshotter: Snapshotter;
  runtime: Runtime;
  volumes: VolumeService;
  networking: ContainerNetworking;
  events: EventLog;
  logger: Logger;
  now?: () => number;
}

/** In-memory companion of a record: streams, the current process, and who waits for what. */
export interface Live {
  io: ContainerIo;
  process?: ContainerProcess;
  /** Resolves when the current run's exit has been fully handled (state saved, attachments ended). */
  runDone?: Promise<void>;
  waiters: StateWaiters;
  restartTimer?: NodeJS.Timeout;
  restartDelay: number;
  /** stop, kill -9 by rm, or shutdown in progress: the exit must not trigger the restart policy. */
  stopping: boolean;
  removing: boolean;
  /** Its run's exit is being handled (resources being released): a live `network connect` must wait for the next start. */
  exiting?: boolean;
  /** Its healthcheck's monitor while it runs unpaused. */
  health?: HealthMonitor;
}

/**
 * What the container verbs (create, start, monitor, stop, pause, delete, rootfs, restore) share: the engine's
 * services, the live side of each container, the per-container locks and the resources a run holds.
 * Lifecycle operations on one container are serialised by `withLock`; exit handling is not (a stop waits for
 * it), so nothing can deadlock on its own lock.
 */
export class DaemonContext {
  readonly deps: ContainerManagerDeps;
  readonly live = new Map<string, Live>();
  readonly locks = new Map<string, Promise<unknown>>();
  /** Acquired in this order before a container's process starts, released in reverse after it exits. */
  readonly resources: readonly ContainerResource[];
  shuttingDown = false;

  constructor(deps: ContainerManagerDeps) {
    this.deps = deps;
    this.resources = [
      shmResource((id) => deps.store.dirOf(id), deps.logger),
      volumeMountsResource(deps.volumes, deps.events, deps.logger),
      networkResource(deps.networking, deps.logger),
    ];
  }

  now(): number {
    return this.deps.now?.() ?? Date.now();
  }

  iso(): string {
    return new Date(this.now()).toISOString();
  }

  withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.locks.set(id, next);
    next.finally(() => {
      if (this.locks.get(id) === next) this.locks.delete(id);
    }).catch(() => undefined);
    return next;
  }

  liveOf(record: ContainerRecord): Live {
    let live = this.live.get(record.id);
    if (!live) {
      const log = new ContainerLog(this.#logFile(record), storedLogSettings(record));
      live = {
        io: new ContainerIo({ log, tty: () => this.deps.store.get(record.id)?.config.Tty ?? false }),
        waiters: { exit: [], removed: [] },
        restartDelay: 0,
        stopping: false,
        removing: false,
      };
      this.live.set(record.id, live);
    }
    return live;
  }

  bundleDir(id: string): string {
    return join(this.deps.store.dirOf(id), 'bundle');
  }

  /** What inspect shows as LogPath: moby names only a json-file log there. */
  logPath(id: string): string {
    const record = this.deps.store.get(id);
    return record && storedLogSettings(record).driver !== 'json-file' ? '' : this.#logFile({ id, hostConfig: record?.hostConfig });
  }

  /** Where the log lives: moby's json-file name, or the local driver's `local-logs/container.log`. */
  #logFile(record: { id: string; hostConfig?: ContainerRecord['hostConfig'] }): string {
    const dir = this.deps.store.dirOf(record.id);
    return (record.hostConfig?.LogConfig as LogConfigInput | undefined)?.Type === 'local' ? join(dir, 'local-logs', 'container.log') : join(dir, `${record.id}-json.log`);
  }

  event(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.deps.events.emit('container', action, {
      id: record.id,
      attributes: { ...record.config.Labels, image: record.config.Image, name: record.name.slice(1), ...extra },
    });
  }
}

/** A record's log settings; records from before log drivers were checked keep the default json-file log. */
function storedLogSettings(record: Pick<ContainerRecord, 'hostConfig'>): LogSettings {
  try {
    return logSettings(normalizeLogConfig(record.hostConfig.LogConfig as LogConfigInput | undefined));
  } catch {
    return { driver: 'json-file', maxSize: -1, maxFile: 1 };
  }
}
