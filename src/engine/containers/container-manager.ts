import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { FilterProcess } from '../images/filter-process.ts';
import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import type { EventLog } from '../events.ts';
import type { ImageService } from '../images/image-service.ts';
import type { Snapshotter } from '../snapshots/snapshotter.ts';
import { ContainerIo, type AttachOptions } from './container-io.ts';
import { ContainerLog } from './container-log.ts';
import { randomContainerName } from './container-names.ts';
import { initialState, type ContainerConfig, type ContainerRecord } from './container-record.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import { nextRestartDelay, restartsWithDaemon, shouldRestart } from './container-restart.ts';
import { parseSignal } from './container-signals.ts';
import { adaptToHost, bindMounts, buildContainerSpec, checkNetworkMode, parseSecurityOpt, recordMounts, validateName, type CreateRequest } from './container-spec.ts';
import { acquireMounts, endHolds, inheritMounts, removeAnonymous, volumeNames } from '../volumes/container-mounts.ts';
import { parseMountRequests } from '../volumes/mount-spec.ts';
import type { VolumeService } from '../volumes/volume-service.ts';
import type { ContainerStore } from './container-store.ts';
import { ProcessStartError, type BindMount, type ContainerProcess, type ContainerRunSpec, type ExitInfo, type Runtime } from './runtime.ts';
import type { Readable, Writable } from 'node:stream';
import { mountAll, unmount } from '../snapshots/mount.ts';

export interface ContainerManagerDeps {
  store: ContainerStore;
  images: ImageService;
  snapshotter: Snapshotter;
  runtime: Runtime;
  volumes: VolumeService;
  events: EventLog;
  logger: Logger;
  now?: () => number;
}

export type WaitCondition = 'not-running' | 'next-exit' | 'removed';

/** How withRootfs shows a running container: its rootfs mount alone, or with its binds and volumes. */
export type RunningRootView = 'rootfs' | 'mounts';

/** In-memory companion of a record: streams, the current process, and who waits for what. */
interface Live {
  io: ContainerIo;
  process?: ContainerProcess;
  /** Resolves when the current run's exit has been fully handled (state saved, attachments ended). */
  runDone?: Promise<void>;
  exitWaiters: ((code: number) => void)[];
  removeWaiters: ((code: number) => void)[];
  restartTimer?: NodeJS.Timeout;
  restartDelay: number;
  /** stop, kill -9 by rm, or shutdown in progress: the exit must not trigger the restart policy. */
  stopping: boolean;
  removing: boolean;
}

const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Container lifecycle after moby's daemon: create, start, attach, wait, stop, kill, restart, pause, rename,
 * remove, restart policies and restore at engine start. Lifecycle operations on one container are serialised;
 * exit handling is not (a stop waits for it), so nothing here can deadlock on its own lock.
 */
export class ContainerManager {
  #deps: ContainerManagerDeps;
  #live = new Map<string, Live>();
  #locks = new Map<string, Promise<unknown>>();
  #shuttingDown = false;

  constructor(deps: ContainerManagerDeps) {
    this.#deps = deps;
  }

  get store(): ContainerStore {
    return this.#deps.store;
  }

  #now(): number {
    return this.#deps.now?.() ?? Date.now();
  }

  #iso(): string {
    return new Date(this.#now()).toISOString();
  }

  #withLock<T>(id: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#locks.get(id) ?? Promise.resolve();
    const next = previous.catch(() => undefined).then(work);
    this.#locks.set(id, next);
    next.finally(() => {
      if (this.#locks.get(id) === next) this.#locks.delete(id);
    }).catch(() => undefined);
    return next;
  }

  #liveOf(record: ContainerRecord): Live {
    let live = this.#live.get(record.id);
    if (!live) {
      const log = new ContainerLog(this.logPath(record.id));
      live = {
        io: new ContainerIo({ log, tty: () => this.#deps.store.get(record.id)?.config.Tty ?? false }),
        exitWaiters: [],
        removeWaiters: [],
        restartDelay: 0,
        stopping: false,
        removing: false,
      };
      this.#live.set(record.id, live);
    }
    return live;
  }

  #bundleDir(id: string): string {
    return join(this.#deps.store.dirOf(id), 'bundle');
  }

  logPath(id: string): string {
    return join(this.#deps.store.dirOf(id), `${id}-json.log`);
  }

  #event(record: ContainerRecord, action: string, extra: Record<string, string> = {}): void {
    this.#deps.events.emit('container', action, {
      id: record.id,
      attributes: { ...record.config.Labels, image: record.config.Image, name: record.name.slice(1), ...extra },
    });
  }

  // ---- create ----------------------------------------------------------------------------------------

  async create(request: CreateRequest, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    if (name) validateName(name);
    const id = randomBytes(32).toString('hex');
    // Reserved before the first await, so of concurrent creates with one name exactly one gets it.
    const finalName = name ? `/${name.replace(/^\//, '')}` : this.#generateName(id);
    if (name) this.#deps.store.reserveName(finalName, id);
    try {
      return await this.#create(request, id, finalName);
    } catch (err) {
      this.#deps.store.releaseName(finalName, id);
      throw err;
    }
  }

  async #create(request: CreateRequest, id: string, name: string): Promise<{ Id: string; Warnings: string[] }> {
    const image = this.#deps.images.store.resolve(request.Image ?? '');
    const imageConfig = await this.#deps.images.store.config(image.id);
    const spec = buildContainerSpec(request, imageConfig, { id });
    const warnings = adaptToHost(spec.hostConfig, this.#deps.runtime.support);
    const snapshotKey = `container-${id}`;
    await this.#deps.snapshotter.prepare(snapshotKey, image.layers.at(-1)?.chainId);
    const mounts = await this.#acquireMounts(id, spec.hostConfig, spec.config.Volumes, snapshotKey).catch(async (err) => {
      await this.#deps.snapshotter.remove(snapshotKey).catch(() => undefined);
      throw err;
    });
    const record: ContainerRecord = {
      id,
      name,
      created: this.#iso(),
      path: spec.path,
      args: spec.args,
      imageId: image.id,
      config: spec.config,
      hostConfig: spec.hostConfig,
      state: initialState(),
      restartCount: 0,
      manuallyStopped: false,
      snapshotKey,
      mounts,
    };
    this.#deps.store.save(record);
    endHolds(this.#deps.volumes, mounts, id);
    this.#event(record, 'create');
    return { Id: id, Warnings: warnings };
  }

  /** Binds, `--volumes-from` and volumes (named ones made on first use, empty ones seeded from the image). */
  async #acquireMounts(id: string, host: ContainerRecord['hostConfig'], imageVolumes: ContainerConfig['Volumes'], snapshotKey: string) {
    return acquireMounts(this.#deps.volumes, {
      containerId: id,
      requests: parseMountRequests(host),
      inherited: inheritMounts(host.VolumesFrom ?? [], (c) => recordMounts(this.#deps.store.resolve(c))),
      imageVolumes,
      withRootfs: async (work) => {
        const target = join(this.#deps.store.dirOf(id), 'mounted');
        await mkdir(target, { recursive: true });
        await mountAll(await this.#deps.snapshotter.mounts(snapshotKey), target);
        try {
          await work(target);
        } finally {
          await unmount(target);
        }
      },
    });
  }

  /** The containers whose mounts name volume `name` (`volume rm` refuses while there are any). */
  volumeUsers(name: string): string[] {
    return this.#deps.store.list().filter((c) => recordMounts(c).some((m) => m.Name === name)).map((c) => c.id);
  }

  /** A random free name, reserved for `id` (moby retries with a digit appended after a collision). */
  #generateName(id: string): string {
    for (let retry = 0; ; retry++) {
      const name = `/${randomContainerName(retry)}`;
      try {
        this.#deps.store.reserveName(name, id);
        return name;
      } catch (err) {
        if (!isFault(err) || err.kind !== 'conflict') throw err;
      }
    }
  }

  // ---- start and exit ----------------------------------------------------------------------------------

  /** Returns false when it was already running (the API answers 304). */
  start(input: string): Promise<boolean> {
    const record = this.#deps.store.resolve(input);
    return this.#withLock(record.id, () => this.#start(record.id));
  }

  async #start(id: string): Promise<boolean> {
    const record = this.#deps.store.resolve(id);
    const live = this.#liveOf(record);
    if (record.state.Paused) throw new Fault('conflict', 'cannot start a paused container, try unpause instead');
    if (record.state.Running && !record.state.Restarting) return false;
    if (live.restartTimer) clearTimeout(live.restartTimer);
    live.restartTimer = undefined;
    live.stopping = false;
    record.manuallyStopped = false;
    let process: ContainerProcess;
    try {
      checkNetworkMode(record.hostConfig.NetworkMode);
      await this.#deps.volumes.mountFor(record.id, volumeNames(recordMounts(record)));
      process = await this.#deps.runtime.run(await this.#runSpec(record));
    } catch (err) {
      await this.#unmountVolumes(record.id);
      this.#startFailed(record, live, err);
      throw startFault(err);
    }
    Object.assign(record.state, {
      Status: 'running',
      Running: true,
      Paused: false,
      Restarting: false,
      OOMKilled: false,
      Dead: false,
      Pid: process.pid,
      ExitCode: 0,
      Error: '',
      StartedAt: this.#iso(),
    });
    this.#deps.store.save(record);
    live.process = process;
    const outputs = live.io.connect(process);
    live.runDone = this.#watchExit(record.id, process, outputs);
    this.#event(record, 'start');
    return true;
  }

  async #runSpec(record: ContainerRecord): Promise<ContainerRunSpec> {
    const { config, hostConfig } = record;
    const env = mergeEnv([defaultPath, `HOSTNAME=${config.Hostname}`, ...(config.Tty ? ['TERM=xterm'] : [])], config.Env ?? []);
    const mode = hostConfig.NetworkMode;
    return {
      id: record.id,
      bundleDir: this.#bundleDir(record.id),
      rootfs: await this.#deps.snapshotter.mounts(record.snapshotKey),
      args: [record.path, ...record.args],
      env,
      cwd: config.WorkingDir || '/',
      user: config.User,
      hostname: config.Hostname,
      domainname: config.Domainname,
      terminal: config.Tty,
      consoleSize: hostConfig.ConsoleSize?.[0] ? hostConfig.ConsoleSize : undefined,
      openStdin: config.OpenStdin,
      network: mode === 'host' ? 'host' : mode === 'none' ? 'none' : 'private',
      resources: {
        memory: hostConfig.Memory,
        memorySwap: hostConfig.MemorySwap,
        nanoCpus: hostConfig.NanoCpus,
        cpuShares: hostConfig.CpuShares,
        cpuQuota: hostConfig.CpuQuota,
        cpuPeriod: hostConfig.CpuPeriod,
        pidsLimit: hostConfig.PidsLimit,
        blkioWeight: hostConfig.BlkioWeight,
      },
      privileged: hostConfig.Privileged,
      readonlyRootfs: hostConfig.ReadonlyRootfs,
      capAdd: hostConfig.CapAdd ?? [],
      capDrop: hostConfig.CapDrop ?? [],
      ...parseSecurityOpt(hostConfig.SecurityOpt),
      mounts: await createBindSources(bindMounts(recordMounts(record))),
    };
  }

  /** moby daemon/start.go: the exit code says why (127 not found, 126 not executable), the state stays Created. */
  #startFailed(record: ContainerRecord, live: Live, err: unknown): void {
    record.state.ExitCode = startExitCode(err);
    record.state.Error = err instanceof Error ? err.message : String(err);
    record.state.Running = false;
    record.state.Restarting = false;
    if (record.state.Status === 'restarting') record.state.Status = 'exited';
    this.#deps.store.save(record);
    live.io.endRun();
    this.#event(record, 'die', { exitCode: String(record.state.ExitCode) });
    for (const resolve of live.exitWaiters.splice(0)) resolve(record.state.ExitCode);
    if (record.hostConfig.AutoRemove) void this.remove(record.id, { force: true, volumes: true }).catch(() => undefined);
  }

  /** Volumes with driver options are mounted only while a container runs (moby's refcounted Unmount). */
  async #unmountVolumes(id: string): Promise<void> {
    const record = this.#deps.store.get(id);
    if (!record) return;
    await this.#deps.volumes.unmountFor(id, volumeNames(recordMounts(record))).catch((err) => this.#deps.logger.warn({ err, id }, 'unmounting volumes failed'));
  }

  async #watchExit(id: string, process: ContainerProcess, outputs: Promise<void>): Promise<void> {
    let exit: ExitInfo;
    try {
      exit = await process.exited;
    } catch (err) {
      this.#deps.logger.warn({ err, id }, 'container process wait failed');
      exit = { exitCode: 255, oomKilled: false };
    }
    await outputs;
    await this.#unmountVolumes(id);
    const record = this.#deps.store.get(id);
    const live = this.#live.get(id);
    if (!record || !live) return;
    const startedAt = Date.parse(record.state.StartedAt);
    Object.assign(record.state, {
      Status: 'exited',
      Running: false,
      Paused: false,
      Restarting: false,
      Pid: 0,
      ExitCode: exit.exitCode,
      OOMKilled: exit.oomKilled,
      FinishedAt: this.#iso(),
    });
    this.#deps.store.save(record);
    live.process = undefined;
    live.io.endRun();
    if (exit.oomKilled) this.#event(record, 'oom');
    this.#event(record, 'die', { exitCode: String(exit.exitCode) });
    for (const resolve of live.exitWaiters.splice(0)) resolve(exit.exitCode);
    this.#afterExit(record, live, this.#now() - startedAt);
  }

  #afterExit(record: ContainerRecord, live: Live, ranForMs: number): void {
    if (live.removing) return;
    if (record.hostConfig.AutoRemove) {
      void this.remove(record.id, { force: true, volumes: true }).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'auto-remove failed'));
      return;
    }
    const restart = shouldRestart(record.hostConfig.RestartPolicy, {
      exitCode: record.state.ExitCode,
      manuallyStopped: record.manuallyStopped || live.stopping,
      restartCount: record.restartCount,
    });
    if (!restart || this.#shuttingDown) return;
    live.restartDelay = nextRestartDelay(live.restartDelay, ranForMs);
    Object.assign(record.state, { Status: 'restarting', Running: true, Restarting: true });
    this.#deps.store.save(record);
    live.restartTimer = setTimeout(() => {
      live.restartTimer = undefined;
      void this.#withLock(record.id, async () => {
        const current = this.#deps.store.get(record.id);
        if (!current?.state.Restarting) return;
        current.restartCount++;
        await this.#start(record.id);
        this.#event(current, 'restart');
      }).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'restart failed'));
    }, live.restartDelay);
  }

  // ---- attach and wait ----------------------------------------------------------------------------------

  /** Registers a client on the container's streams; call before start so no output is missed. */
  attach(input: string, output: Writable, stdin: Readable | undefined, options: AttachOptions): () => void {
    const record = this.#deps.store.resolve(input);
    const live = this.#liveOf(record);
    const detach = live.io.attach(output, stdin, { ...options, stdin: options.stdin && record.config.OpenStdin, stdinOnce: record.config.StdinOnce });
    this.#event(record, 'attach');
    return detach;
  }

  /**
   * Registers a waiter at once (so `docker run` may start right after the wait headers) and returns the exit
   * code when the condition holds. `removed` keeps the exit code of the last run.
   */
  wait(input: string, condition: WaitCondition): Promise<number> {
    const record = this.#deps.store.resolve(input);
    const live = this.#liveOf(record);
    if (condition === 'not-running' && !record.state.Running) return Promise.resolve(record.state.ExitCode);
    return new Promise((resolve) => (condition === 'removed' ? live.removeWaiters : live.exitWaiters).push(resolve));
  }

  // ---- stop, kill, restart, pause ---------------------------------------------------------------------

  /** Returns false when it was not running (304). */
  stop(input: string, options: { timeout?: number; signal?: string } = {}): Promise<boolean> {
    const record = this.#deps.store.resolve(input);
    const signal = parseSignal(options.signal ?? record.config.StopSignal ?? 'SIGTERM');
    return this.#withLock(record.id, () => this.#stop(record.id, signal.number, options.timeout));
  }

  async #stop(id: string, signal: number, timeoutSeconds?: number): Promise<boolean> {
    const record = this.#deps.store.resolve(id);
    const live = this.#liveOf(record);
    record.manuallyStopped = true;
    if (live.restartTimer) {
      clearTimeout(live.restartTimer);
      live.restartTimer = undefined;
      Object.assign(record.state, { Status: 'exited', Running: false, Restarting: false });
      this.#deps.store.save(record);
      return true;
    }
    if (!record.state.Running || !live.runDone) {
      this.#deps.store.save(record);
      return false;
    }
    this.#deps.store.save(record);
    live.stopping = true;
    const timeout = timeoutSeconds ?? record.config.StopTimeout ?? 10;
    await this.#signal(record, live, signal);
    if (!(await settlesWithin(live.runDone, timeout))) await this.#signal(record, live, 9);
    await live.runDone;
    this.#event(record, 'stop');
    return true;
  }

  async #signal(record: ContainerRecord, live: Live, signal: number): Promise<void> {
    this.#event(record, 'kill', { signal: String(signal) });
    await this.#deps.runtime.kill(record.id, signal).catch((err) => {
      if (record.state.Running) throw err;
    });
    // A frozen task only acts on a signal once thawed.
    if (record.state.Paused) await this.#unpause(record, live);
  }

  async kill(input: string, signalName = 'KILL'): Promise<void> {
    const signal = parseSignal(signalName);
    const record = this.#deps.store.resolve(input);
    const live = this.#liveOf(record);
    if (!record.state.Running || record.state.Restarting || !live.process) {
      throw new Fault('conflict', `Cannot kill container: ${input}: Container ${record.id} is not running`);
    }
    // moby: KILL or the container's stop signal disables the restart policy until the next start.
    if (signal.number === 9 || signal.number === parseSignal(record.config.StopSignal ?? 'SIGTERM').number) live.stopping = true;
    await this.#signal(record, live, signal.number);
  }

  async restart(input: string, timeout?: number): Promise<void> {
    const record = this.#deps.store.resolve(input);
    await this.#withLock(record.id, async () => {
      await this.#stop(record.id, parseSignal(record.config.StopSignal ?? 'SIGTERM').number, timeout);
      await this.#start(record.id);
    });
    this.#event(record, 'restart');
  }

  pause(input: string): Promise<void> {
    const record = this.#deps.store.resolve(input);
    return this.#withLock(record.id, async () => {
      if (!record.state.Running || record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is not running`);
      if (record.state.Paused) throw new Fault('conflict', `Container ${record.id} is already paused`);
      await this.#deps.runtime.pause(record.id);
      Object.assign(record.state, { Status: 'paused', Paused: true });
      this.#deps.store.save(record);
      this.#event(record, 'pause');
    });
  }

  unpause(input: string): Promise<void> {
    const record = this.#deps.store.resolve(input);
    return this.#withLock(record.id, async () => {
      if (!record.state.Paused) throw new Fault('conflict', `Container ${record.id} is not paused`);
      await this.#unpause(record, this.#liveOf(record));
    });
  }

  async #unpause(record: ContainerRecord, _live: Live): Promise<void> {
    await this.#deps.runtime.resume(record.id);
    Object.assign(record.state, { Status: record.state.Running ? 'running' : record.state.Status, Paused: false });
    this.#deps.store.save(record);
    this.#event(record, 'unpause');
  }

  resize(input: string, rows: number, cols: number): void {
    const record = this.#deps.store.resolve(input);
    const live = this.#live.get(record.id);
    if (!record.state.Running || !live?.process) throw new Fault('conflict', `Container ${record.id} is not running`);
    live.process.resize(rows, cols);
  }

  // ---- rename, remove ---------------------------------------------------------------------------------

  rename(input: string, newName: string): void {
    const record = this.#deps.store.resolve(input);
    const bare = newName.replace(/^\//, '');
    if (!bare) throw new Fault('invalid-argument', 'Neither old nor new names may be empty');
    validateName(bare);
    if (record.name === `/${bare}`) throw new Fault('invalid-argument', 'Renaming a container with the same name as its current name');
    const oldName = record.name;
    this.#deps.store.reserveName(`/${bare}`, record.id);
    try {
      record.name = `/${bare}`;
      this.#deps.store.save(record);
    } catch (err) {
      record.name = oldName;
      this.#deps.store.releaseName(`/${bare}`, record.id);
      throw err;
    }
    this.#deps.store.releaseName(oldName, record.id);
    this.#event(record, 'rename', { oldName });
  }

  /** `volumes` (`rm -v`, `--rm`): the container's anonymous volumes go with it. */
  remove(input: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    const record = this.#deps.store.resolve(input);
    return this.#withLock(record.id, async () => {
      if (!this.#deps.store.get(record.id)) return;
      const live = this.#liveOf(record);
      if (record.state.Running && !options.force) {
        const what = record.state.Paused ? 'container is paused and must be unpaused first' : 'container is running: stop the container before removing or force remove';
        throw new Fault('conflict', `cannot remove container "${record.name}": ${what}`);
      }
      live.removing = true;
      live.stopping = true;
      if (live.restartTimer) clearTimeout(live.restartTimer);
      if (live.runDone && live.process) {
        await this.#signal(record, live, 9);
        await live.runDone;
      }
      await this.#destroy(record, live);
      if (options.volumes) await removeAnonymous(this.#deps.volumes, recordMounts(record), this.#deps.logger);
    });
  }

  async #destroy(record: ContainerRecord, live: Live): Promise<void> {
    record.state.Status = 'removing';
    await this.#deps.runtime.cleanup(record.id, this.#bundleDir(record.id)).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'runtime cleanup failed'));
    await this.#deps.snapshotter.remove(record.snapshotKey).catch((err) => {
      if (!isFault(err, 'not-found')) throw err;
    });
    live.io.endRun();
    live.io.log.close();
    this.#deps.store.delete(record.id);
    this.#live.delete(record.id);
    this.#event(record, 'destroy');
    for (const resolve of live.removeWaiters.splice(0)) resolve(record.state.ExitCode);
    for (const resolve of live.exitWaiters.splice(0)) resolve(record.state.ExitCode);
  }

  // ---- commit ----------------------------------------------------------------------------------------

  /**
   * docker commit: the container's filesystem changes become a new image layer. A running container is paused
   * while its changes are read (moby's default; `pause: false` reads them live). Request `config` fields override
   * the container's own, then `changes` (Dockerfile instructions) apply.
   */
  async commit(input: string, options: CommitOptions): Promise<string> {
    const record = this.#deps.store.resolve(input);
    const pause = (options.pause ?? true) && record.state.Running && !record.state.Paused;
    if (pause) await this.pause(record.id);
    try {
      const changes = await this.#deps.snapshotter.diff(record.snapshotKey);
      const id = await this.#deps.images.commit(
        changes,
        {
          imageId: record.imageId,
          containerId: record.id,
          config: options.imageConfig ?? committedConfig(record.config, options.config),
          createdBy: options.createdBy ?? [record.path, ...record.args].join(' '),
        },
        options,
      );
      this.#event(record, 'commit', { comment: options.comment ?? '' });
      return id;
    } finally {
      if (pause) await this.unpause(record.id).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'unpause after commit failed'));
    }
  }

  // ---- export ----------------------------------------------------------------------------------------

  /**
   * docker export: the container's whole filesystem as a tar: a running container's rootfs mount (without its
   * binds and volumes, as moby exports), a stopped one's mounted beside it for as long as the tar streams.
   */
  export(input: string): Promise<Readable> {
    return this.streamFromRootfs(input, async (dir) => tarDirectory(dir), { running: 'rootfs' });
  }

  /**
   * The one place that gives a container's `/` as a host directory to `work` (export, cp, the builder's COPY),
   * under the container's lock, so a start cannot mount the same upper directory meanwhile. A stopped container's
   * filesystem is mounted beside it for the time of `work`; a running one is refused unless `running` names the
   * view wanted: its rootfs mount, or what its processes see (`/proc/<pid>/root`: binds and volumes included),
   * with those processes frozen meanwhile. `view.live` says which: a mounted-beside root has no binds or volumes.
   */
  withRootfs<T>(input: string, work: (dir: string, view: { live: boolean }) => Promise<T>, options: { running?: 'refuse' | RunningRootView } = {}): Promise<T> {
    const record = this.#deps.store.resolve(input);
    return this.#withLock(record.id, async () => {
      if (record.state.Running) {
        const init = this.#live.get(record.id)?.process;
        if (!options.running || options.running === 'refuse' || !init) throw new Fault('conflict', `Container ${record.id} is running`);
        if (options.running === 'rootfs') return work(join(this.#bundleDir(record.id), 'rootfs'), { live: true });
        return this.#frozen(record, () => work(`/proc/${init.pid}/root`, { live: true }));
      }
      const target = join(this.#deps.store.dirOf(record.id), 'mounted');
      await mkdir(target, { recursive: true });
      await mountAll(await this.#deps.snapshotter.mounts(record.snapshotKey), target);
      try {
        return await work(target, { live: false });
      } finally {
        await unmount(target).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'unmounting a container filesystem failed'));
      }
    });
  }

  /**
   * Runs `work` with a running container's processes frozen (unless the user paused it already), so none can swap
   * a directory that a path walk has checked for a symlink before it is used (moby pauses for docker cp after
   * CVE-2018-15664). No pause/unpause event: the container's state does not change for its user.
   */
  async #frozen<T>(record: ContainerRecord, work: () => Promise<T>): Promise<T> {
    if (record.state.Paused) return work();
    await this.#deps.runtime.pause(record.id);
    try {
      return await work();
    } finally {
      await this.#deps.runtime.resume(record.id).catch((err) => this.#deps.logger.warn({ err, id: record.id }, 'thawing a container after a copy failed'));
    }
  }

  /** A stream `make` builds from the container's `/` (withRootfs), which stays held until the stream closes. */
  streamFromRootfs(input: string, make: (dir: string, view: { live: boolean }) => Promise<Readable>, options: { running: RunningRootView }): Promise<Readable> {
    return new Promise<Readable>((resolve, reject) => {
      this.withRootfs(
        input,
        async (dir, view) => {
          const stream = await make(dir, view);
          resolve(stream);
          await new Promise((done) => stream.once('close', done));
        },
        options,
      ).catch(reject);
    });
  }

  // ---- queries ----------------------------------------------------------------------------------------

  /** The log and, while running, a promise of the current run's end (for `logs -f`). */
  logSource(input: string): { record: ContainerRecord; log: ContainerLog; running?: Promise<void> } {
    const record = this.#deps.store.resolve(input);
    const live = this.#liveOf(record);
    return { record, log: live.io.log, running: record.state.Running && live.runDone ? live.runDone : undefined };
  }

  async pids(input: string): Promise<number[]> {
    const record = this.#deps.store.resolve(input);
    if (!record.state.Running || record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is not running`);
    return this.#deps.runtime.ps(record.id);
  }

  /** The container an exec may run in: running, not paused or restarting (moby's wording otherwise). */
  execTarget(input: string): ContainerRecord {
    const record = this.#deps.store.resolve(input);
    if (record.state.Paused) throw new Fault('conflict', `Container ${record.id} is paused, unpause the container before exec`);
    if (record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is restarting, wait until the container is running`);
    if (!record.state.Running || !this.#live.get(record.id)?.process) throw new Fault('conflict', `Container ${record.id} is not running`);
    return record;
  }

  /** What an exec inherits: the container's environment (exec Env overriding), working dir and bundle. */
  execContext(id: string, exec: { Env?: string[] | null; WorkingDir?: string; Tty?: boolean }): {
    record: ContainerRecord;
    bundleDir: string;
    env: string[];
    cwd: string;
  } {
    const record = this.execTarget(id);
    const env = mergeEnv([defaultPath, `HOSTNAME=${record.config.Hostname}`, ...(exec.Tty ? ['TERM=xterm'] : [])], [...(record.config.Env ?? []), ...(exec.Env ?? [])]);
    return { record, bundleDir: this.#bundleDir(record.id), env, cwd: exec.WorkingDir || record.config.WorkingDir || '/' };
  }

  /** The image ID a reference names, if any (ps `ancestor` filter). */
  imageOf(ref: string): string | undefined {
    try {
      return this.#deps.images.store.find(ref)?.id;
    } catch {
      return undefined;
    }
  }

  /** Containers using an image (for rmi's conflicts). */
  usersOf(imageId: string): { id: string; running: boolean }[] {
    return this.#deps.store
      .list()
      .filter((c) => c.imageId === imageId)
      .map((c) => ({ id: c.id, running: c.state.Running }));
  }

  // ---- engine start and stop ----------------------------------------------------------------------------

  /**
   * After an engine (re)start: clean what a crash left running, drop --rm containers, and start the ones
   * their restart policy brings back (moby's restore).
   */
  async restore(): Promise<void> {
    for (const duplicate of this.#deps.store.duplicates()) {
      this.#deps.logger.warn({ id: duplicate.id, name: duplicate.name }, 'container not restored: an older container has its name');
    }
    for (const record of this.#deps.store.list()) {
      if (record.state.Running || record.state.Paused || record.state.Status === 'removing') {
        await this.#deps.runtime.cleanup(record.id, this.#bundleDir(record.id)).catch(() => undefined);
        Object.assign(record.state, {
          Status: 'exited',
          Running: false,
          Paused: false,
          Restarting: false,
          Pid: 0,
          ExitCode: record.state.Restarting ? record.state.ExitCode : 255,
          FinishedAt: record.state.Restarting ? record.state.FinishedAt : this.#iso(),
        });
        this.#deps.store.save(record);
      }
    }
    for (const record of this.#deps.store.list()) {
      try {
        if (record.hostConfig.AutoRemove) await this.remove(record.id, { force: true, volumes: true });
        else if (restartsWithDaemon(record.hostConfig.RestartPolicy, record.manuallyStopped, record.state.ExitCode)) await this.start(record.id);
      } catch (err) {
        this.#deps.logger.warn({ err, id: record.id }, 'container restore failed');
      }
    }
  }

  /** Engine shutdown: kill what runs (restart policies bring it back at the next start), end all streams. */
  async shutdown(): Promise<void> {
    this.#shuttingDown = true;
    const running: Promise<void>[] = [];
    for (const [id, live] of this.#live) {
      if (live.restartTimer) clearTimeout(live.restartTimer);
      const record = this.#deps.store.get(id);
      if (!record || !live.process || !live.runDone) continue;
      running.push(
        this.#signal(record, live, 9)
          .catch(() => undefined)
          .then(() => live.runDone),
      );
    }
    await Promise.all(running);
    await Promise.all([...this.#locks.values()].map((p) => p.catch(() => undefined)));
    for (const live of this.#live.values()) live.io.log.close();
  }
}

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  /** Container config fields that replace the container's own in the image (the request body). */
  config?: Partial<ContainerConfig> | null;
  /** The image's runtime config as is, instead of the container's (the builder's accumulated config). */
  imageConfig?: ImageRuntimeConfig;
  /** The history line; default the container's command. */
  createdBy?: string;
}

/** The image runtime config a commit records: the container's settings, request overrides first. */
function committedConfig(container: ContainerConfig, overrides: Partial<ContainerConfig> | null | undefined): ImageRuntimeConfig {
  const c = { ...container, ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '')) };
  return {
    User: c.User,
    Env: c.Env,
    Entrypoint: c.Entrypoint,
    Cmd: c.Cmd,
    WorkingDir: c.WorkingDir,
    Labels: c.Labels,
    ExposedPorts: c.ExposedPorts ?? null,
    Volumes: c.Volumes,
    OnBuild: c.OnBuild,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
  };
}

/** A tar of `dir`'s contents (names without a leading `./`, numeric owners), streamed from GNU tar. */
function tarDirectory(dir: string): Readable {
  const names = readdirSync(dir);
  // --files-from=/dev/null: an empty rootfs makes an empty archive instead of tar's refusal. GNU tar's status 1
  // is "a file changed as we read it" (a running container): a warning, not a failure.
  const tar = new FilterProcess('tar', ['--numeric-owner', '-C', dir, '-cf', '-', '--files-from=/dev/null', '--', ...names], {
    name: 'tar',
    okCodes: [0, 1],
    failure: 'unavailable',
  });
  tar.end();
  return tar;
}

/** moby creates a missing `-v` source directory at start (a `--mount` source was checked at create). */
async function createBindSources(mounts: BindMount[]): Promise<BindMount[]> {
  await Promise.all(mounts.filter((m) => !m.tmpfs && !existsSync(m.source)).map((m) => mkdir(m.source, { recursive: true, mode: 0o755 })));
  return mounts;
}

/** moby's ReplaceOrAppendEnvValues: later entries override earlier ones by key. */
function mergeEnv(base: string[], overrides: string[]): string[] {
  const env = [...base];
  for (const entry of overrides) {
    const key = entry.split('=')[0];
    const index = env.findIndex((e) => e.split('=')[0] === key);
    if (index >= 0) env[index] = entry;
    else env.push(entry);
  }
  return env;
}

/** Resolves true when `promise` settles within `seconds` (negative waits forever). */
async function settlesWithin(promise: Promise<unknown>, seconds: number): Promise<boolean> {
  if (seconds < 0) {
    await promise;
    return true;
  }
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), seconds * 1000)));
  const result = await Promise.race([promise.then(() => true), timeout]);
  clearTimeout(timer);
  return result;
}

/** The runtime words a start error and picks its exit code (127 not found, 126 not executable); anything else is 128. */
function startExitCode(err: unknown): number {
  return err instanceof ProcessStartError ? err.exitCode : 128;
}

function startFault(err: unknown): unknown {
  // moby answers 400 for a command that cannot run, 500 otherwise.
  if (startExitCode(err) !== 128) return new Fault('invalid-argument', `failed to create task for container: ${(err as Error).message}`, { cause: err });
  return err;
}
