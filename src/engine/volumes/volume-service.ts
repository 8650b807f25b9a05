import { randomBytes } from 'node:crypto';
import { Fault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import type { VolumeDriver } from './volume-driver.ts';
import { validateVolumeName } from './volume-name.ts';
import type { VolumeRecord } from './volume-record.ts';
import type { VolumeRecords } from './volume-records.ts';

export interface VolumeServiceDeps {
  records: VolumeRecords;
  driver: VolumeDriver;
  events: EventLog;
  logger: Logger;
  now?: () => number;
}

export interface CreateVolumeOptions {
  name?: string;
  driver?: string;
  labels?: Record<string, string>;
  options?: Record<string, string>;
  anonymous?: boolean;
  /** The container an anonymous volume is made for (see VolumeRecord.pendingFor). */
  pendingFor?: string;
  /** Held for this container from inside the create (see `hold`), so no `volume rm` can come in between. */
  holdFor?: string;
}

/**
 * Volumes by name (moby volume/service): create (idempotent for a name, as moby's), remove unless a container
 * uses it, list, prune. Operations on one name are serialised; a container being created holds its volumes
 * until its record (which then names them) is saved, so a concurrent `volume rm` cannot take them away.
 */
export class VolumeService {
  #deps: VolumeServiceDeps;
  #byName = new Map<string, VolumeRecord>();
  #locks = new Map<string, Promise<unknown>>();
  #holds = new Map<string, Set<string>>();
  /** Containers that have each volume mounted (moby's refcounted Mount/Unmount); in memory, a crash unmounts all. */
  #mounts = new Map<string, Set<string>>();
  #users: (name: string) => string[] = () => [];

  constructor(deps: VolumeServiceDeps) {
    this.#deps = deps;
    for (const record of deps.records.load()) this.#byName.set(record.name, record);
  }

  /** Who uses a volume, from the container records (set once the container manager exists). */
  setUsers(users: (name: string) => string[]): void {
    this.#users = users;
  }

  /**
   * After an engine (re)start (the container records loaded): data a crash left without a record, and anonymous
   * volumes whose container was never saved, are removed.
   */
  async restore(): Promise<void> {
    for (const record of [...this.#byName.values()]) {
      if (record.pendingFor === undefined) continue;
      if (this.#users(record.name).length) this.confirm(record.name);
      else {
        this.#deps.records.delete(record.name);
        this.#byName.delete(record.name);
      }
    }
    for (const name of await this.#deps.driver.list()) {
      if (!this.#byName.has(name)) await this.#deps.driver.remove(name);
    }
    for (const record of this.#byName.values()) await this.#deps.driver.create(record.name, record.options);
  }

  list(): VolumeRecord[] {
    return [...this.#byName.values()];
  }

  get(name: string): VolumeRecord {
    const record = this.#byName.get(name);
    if (!record) throw new Fault('not-found', `get ${name}: no such volume`);
    return record;
  }

  mountpoint(name: string): string {
    return this.#deps.driver.path(name);
  }

  size(name: string): Promise<number> {
    return this.#deps.driver.size(name);
  }

  usersOf(name: string): string[] {
    return [...new Set([...this.#users(name), ...(this.#holds.get(name) ?? [])])];
  }

  async create(options: CreateVolumeOptions = {}): Promise<VolumeRecord> {
    const name = options.name || randomBytes(32).toString('hex');
    validateVolumeName(name);
    const driver = options.driver || 'local';
    if (driver !== this.#deps.driver.name) throw new Fault('not-found', `error looking up volume plugin ${driver}: plugin "${driver}" not found`);
    return this.#withLock(name, async () => {
      const existing = this.#byName.get(name);
      if (options.holdFor) this.hold(name, options.holdFor);
      if (existing) return existing;
      const record: VolumeRecord = {
        name,
        driver,
        // moby 23+ marks anonymous volumes so a plain prune can tell them apart.
        labels: options.anonymous ? { ...options.labels, 'com.docker.volume.anonymous': '' } : (options.labels ?? {}),
        options: options.options ?? {},
        createdAt: new Date(this.#deps.now?.() ?? Date.now()).toISOString().replace(/\.\d+Z$/, 'Z'),
        anonymous: options.anonymous ?? false,
        ...(options.pendingFor ? { pendingFor: options.pendingFor } : {}),
      };
      // Data first, record last: a crash in between leaves data without a record, which restore() removes.
      await this.#deps.driver.create(name, record.options).catch((err) => {
        if (options.holdFor) this.release(name, options.holdFor);
        throw err;
      });
      this.#deps.records.save(record);
      this.#byName.set(name, record);
      this.#deps.events.emit('volume', 'create', { id: name, attributes: { driver } });
      return record;
    });
  }

  /** Container `id` starts using the volumes `names`: the driver mounts each for its first user. */
  async mountFor(id: string, names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.#withLock(name, async () => {
        const users = this.#mounts.get(name) ?? new Set<string>();
        if (!users.size) await this.#deps.driver.mount(name, this.get(name).options);
        users.add(id);
        this.#mounts.set(name, users);
      });
    }
  }

  /** Container `id` stopped using `names`: the driver unmounts each after its last user. */
  async unmountFor(id: string, names: readonly string[]): Promise<void> {
    for (const name of names) {
      await this.#withLock(name, async () => {
        const users = this.#mounts.get(name);
        if (!users?.delete(id) || users.size) return;
        this.#mounts.delete(name);
        const record = this.#byName.get(name);
        if (record) await this.#deps.driver.unmount(name, record.options);
      });
    }
  }

  /** The container a pending volume was made for is saved: the volume is a full one now. */
  confirm(name: string): void {
    const record = this.#byName.get(name);
    if (record?.pendingFor === undefined) return;
    delete record.pendingFor;
    this.#deps.records.save(record);
  }

  /** Marks `name` as used by container `id` until `release` (between acquiring it and saving the container). */
  hold(name: string, id: string): void {
    const holders = this.#holds.get(name) ?? new Set<string>();
    holders.add(id);
    this.#holds.set(name, holders);
  }

  release(name: string, id: string): void {
    const holders = this.#holds.get(name);
    holders?.delete(id);
    if (holders?.size === 0) this.#holds.delete(name);
  }

  /** moby: `force` only forgives a missing volume; a volume in use is never removed. */
  remove(name: string, options: { force?: boolean } = {}): Promise<void> {
    return this.#withLock(name, async () => {
      if (!this.#byName.has(name)) {
        if (options.force) return;
        throw new Fault('not-found', `get ${name}: no such volume`);
      }
      const users = this.usersOf(name);
      if (users.length) throw new Fault('conflict', `remove ${name}: volume is in use - [${users.join(', ')}]`);
      this.#deps.records.delete(name);
      this.#byName.delete(name);
      await this.#deps.driver.remove(name);
      this.#deps.events.emit('volume', 'destroy', { id: name, attributes: { driver: this.#deps.driver.name } });
    });
  }

  #withLock<T>(name: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(name) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.#locks.set(name, next);
    next
      .finally(() => {
        if (this.#locks.get(name) === next) this.#locks.delete(name);
      })
      .catch(() => undefined);
    return next;
  }
}
