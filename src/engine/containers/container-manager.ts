import type { Readable, Writable } from 'node:stream';
import type { AttachOptions } from './container-io.ts';
import type { ContainerLog } from './container-log.ts';
import type { ContainerRecord } from './container-record.ts';
import type { CreateRequest } from './container-spec.ts';
import type { ContainerStore } from './container-store.ts';
import { attach, logSource, resize, wait, type WaitCondition } from './container-attach.ts';
import { create } from './container-create.ts';
import { remove } from './container-delete.ts';
import { pause, unpause } from './container-pause.ts';
import { execContext, execTarget, imageOf, networkEndpoints, pids, usersOf, volumeUsers, type NetworkEndpoint } from './container-queries.ts';
import { connect, disconnect } from './container-connect.ts';
import type { EndpointRequest } from './container-endpoints.ts';
import type { AttachableNetwork } from './container-networking.ts';
import { rename } from './container-rename.ts';
import { restore, shutdown } from './container-restore.ts';
import { commit, exportRootfs, streamFromRootfs, withRootfs, type CommitOptions, type RootView, type RunningRootView } from './container-rootfs.ts';
import { restart, start } from './container-start.ts';
import { containerStats, type StatsOptions } from './container-stats.ts';
import { kill, stop } from './container-stop.ts';
import { update, type UpdateRequest } from './container-update.ts';
import { DaemonContext, type ContainerManagerDeps } from './daemon-context.ts';

export type { CommitOptions, ContainerManagerDeps, NetworkEndpoint, RunningRootView, WaitCondition };

/**
 * Container lifecycle after moby's daemon: a facade over one module per verb (container-create, -start,
 * -monitor, -stop, -pause, -delete, -rename, -rootfs, -restore, -attach, -queries) that share one
 * DaemonContext. State changes go through container-state's named transitions; what a run holds is the
 * context's resource list.
 */
export class ContainerManager {
  #ctx: DaemonContext;

  constructor(deps: ContainerManagerDeps) {
    this.#ctx = new DaemonContext(deps);
  }

  get store(): ContainerStore {
    return this.#ctx.deps.store;
  }

  logPath(id: string): string {
    return this.#ctx.logPath(id);
  }

  create(request: CreateRequest, name?: string): Promise<{ Id: string; Warnings: string[] }> {
    return create(this.#ctx, request, name);
  }

  volumeUsers(name: string): string[] {
    return volumeUsers(this.#ctx, name);
  }

  /** The containers attached to a network now (network inspect's Containers, "has active endpoints"). */
  networkEndpoints(networkId: string): NetworkEndpoint[] {
    return networkEndpoints(this.#ctx, networkId);
  }

  connect(input: string, network: AttachableNetwork, request: EndpointRequest): Promise<void> {
    return connect(this.#ctx, input, network, request);
  }

  disconnect(input: string, network: AttachableNetwork, force: boolean): Promise<void> {
    return disconnect(this.#ctx, input, network, force);
  }

  start(input: string): Promise<boolean> {
    return start(this.#ctx, input);
  }

  attach(input: string, output: Writable, stdin: Readable | undefined, options: AttachOptions): () => void {
    return attach(this.#ctx, input, output, stdin, options);
  }

  wait(input: string, condition: WaitCondition): Promise<number> {
    return wait(this.#ctx, input, condition);
  }

  stop(input: string, options: { timeout?: number; signal?: string } = {}): Promise<boolean> {
    return stop(this.#ctx, input, options);
  }

  kill(input: string, signalName = 'KILL'): Promise<void> {
    return kill(this.#ctx, input, signalName);
  }

  restart(input: string, timeout?: number): Promise<void> {
    return restart(this.#ctx, input, timeout);
  }

  pause(input: string): Promise<void> {
    return pause(this.#ctx, input);
  }

  unpause(input: string): Promise<void> {
    return unpause(this.#ctx, input);
  }

  /** `docker stats`: JSON lines; destroy the stream to stop sampling. */
  stats(input: string, options: StatsOptions): Readable {
    return containerStats(this.#ctx, input, options);
  }

  update(input: string, request: UpdateRequest): Promise<{ Warnings: string[] | null }> {
    return update(this.#ctx, input, request);
  }

  resize(input: string, rows: number, cols: number): void {
    resize(this.#ctx, input, rows, cols);
  }

  rename(input: string, newName: string): void {
    rename(this.#ctx, input, newName);
  }

  remove(input: string, options: { force?: boolean; volumes?: boolean } = {}): Promise<void> {
    return remove(this.#ctx, input, options);
  }

  commit(input: string, options: CommitOptions): Promise<string> {
    return commit(this.#ctx, input, options);
  }

  export(input: string): Promise<Readable> {
    return exportRootfs(this.#ctx, input);
  }

  withRootfs<T>(input: string, work: (dir: string, view: RootView) => Promise<T>, options: { running?: 'refuse' | RunningRootView } = {}): Promise<T> {
    return withRootfs(this.#ctx, input, work, options);
  }

  streamFromRootfs(input: string, make: (dir: string, view: RootView) => Promise<Readable>, options: { running: RunningRootView }): Promise<Readable> {
    return streamFromRootfs(this.#ctx, input, make, options);
  }

  logSource(input: string): { record: ContainerRecord; log: ContainerLog; running?: Promise<void> } {
    return logSource(this.#ctx, input);
  }

  pids(input: string): Promise<number[]> {
    return pids(this.#ctx, input);
  }

  execTarget(input: string): ContainerRecord {
    return execTarget(this.#ctx, input);
  }

  execContext(id: string, exec: { Env?: string[] | null; WorkingDir?: string; Tty?: boolean }): { record: ContainerRecord; bundleDir: string; env: string[]; cwd: string } {
    return execContext(this.#ctx, id, exec);
  }

  /** The healthcheck probe running in a container now: moby lists it among the container's ExecIDs. */
  probeExecIds(id: string): string[] {
    const execId = this.#ctx.live.get(id)?.health?.probeExecId();
    return execId ? [execId] : [];
  }

  imageOf(ref: string): string | undefined {
    return imageOf(this.#ctx, ref);
  }

  usersOf(imageId: string): { id: string; running: boolean }[] {
    return usersOf(this.#ctx, imageId);
  }

  restore(): Promise<void> {
    return restore(this.#ctx);
  }

  shutdown(): Promise<void> {
    return shutdown(this.#ctx);
  }
}
