/*
 * `--ipc container:X` and `--pid container:X`: the namespaces of another container, joined by its
 * /proc/<pid>/ns path when this one starts (moby daemon/container_operations_unix.go getIpcContainer and
 * getPidContainer, with their words: X must exist, run and not be restarting; an IPC donor must be shareable).
 */
import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { shmPath } from './shm-resource.ts';
import type { JoinedNamespaces } from './spec-options.ts';

/** Finds a container by name or id; throws moby's not-found Fault. */
type Resolve = (input: string) => ContainerRecord;

const joinTarget = (mode: unknown) => (typeof mode === 'string' && mode.startsWith('container:') ? mode.slice('container:'.length) : undefined);

/**
 * The namespaces `record`'s IpcMode and PidMode ask to join, and the host /dev/shm a shareable container binds
 * (shm-resource.ts mounts it); throws moby's errors when a donor cannot give them.
 */
export function joinedNamespaces(resolve: Resolve, record: ContainerRecord, containerDir: (id: string) => string): JoinedNamespaces {
  const ipcTarget = joinTarget(record.hostConfig.IpcMode);
  const pidTarget = joinTarget(record.hostConfig.PidMode);
  return {
    ...(record.hostConfig.IpcMode === 'shareable' ? { shm: shmPath(containerDir(record.id)) } : {}),
    ...(ipcTarget !== undefined ? { ipc: ipcDonor(resolve, ipcTarget, containerDir) } : {}),
    ...(pidTarget !== undefined ? { pid: `/proc/${pidDonor(resolve, pidTarget).state.Pid}/ns/pid` } : {}),
  };
}

function checkRunning(donor: ContainerRecord, wrap: (err: Fault) => Fault): void {
  if (!donor.state.Running) throw wrap(new Fault('conflict', `container ${donor.id} is not running`));
  if (donor.state.Restarting) throw wrap(new Fault('conflict', `Container ${donor.id} is restarting, wait until the container is running`));
}

function ipcDonor(resolve: Resolve, target: string, containerDir: (id: string) => string): { path: string; shm: string } {
  const prefix = `can't join IPC of container ${target}`;
  const wrap = (err: Fault) => new Fault(err.kind, `${prefix}: ${err.message}`, { cause: err });
  const donor = find(resolve, target, wrap);
  checkRunning(donor, wrap);
  const mode = String(donor.hostConfig.IpcMode ?? '');
  // moby's ShmPath exists for shareable and host donors only; its absence is a plain (500) error there.
  if (mode !== 'shareable' && mode !== 'host') throw new Error(`${prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
  return { path: `/proc/${donor.state.Pid}/ns/ipc`, shm: mode === 'host' ? '/dev/shm' : shmPath(containerDir(donor.id)) };
}

function pidDonor(resolve: Resolve, target: string): ContainerRecord {
  const donor = find(resolve, target, (err) => new Fault(err.kind, `cannot join PID of a non running container: ${target}: ${err.message}`, { cause: err }));
  checkRunning(donor, (err) => err);
  return donor;
}

function find(resolve: Resolve, target: string, wrap: (err: Fault) => Fault): ContainerRecord {
  try {
    return resolve(target);
  } catch (err) {
    throw err instanceof Fault ? wrap(err) : err;
  }
}

/**
 * moby adaptSharedNamespaceContainer: at create, `container:<name>` becomes `container:<id>`, so a rename of the
 * donor keeps the link; a name that finds nothing is kept for start to refuse.
 */
export function pinJoinedContainers(resolve: Resolve, host: Record<string, unknown>): void {
  for (const key of ['IpcMode', 'PidMode'] as const) {
    const target = joinTarget(host[key]);
    if (target === undefined) continue;
    try {
      host[key] = `container:${resolve(target).id}`;
    } catch (err) {
      if (!(err instanceof Fault)) throw err;
    }
  }
}
