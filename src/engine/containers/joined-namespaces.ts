/*
 * `--ipc container:X` and `--pid container:X`: the namespaces of another container, joined by its
 * /proc/<pid>/ns path when this one starts (moby daemon/container_operations_unix.go getIpcContainer and
 * getPidContainer, with their words: X must exist, run and not be restarting; an IPC donor must be shareable).
 */
import { readFileSync } from 'node:fs';
import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { shmPath } from './shm-resource.ts';
import type { JoinedNamespaces } from './spec-options.ts';

/** Finds a container by name or id; throws moby's not-found Fault. */
type Resolve = (input: string) => ContainerRecord;

/** The text of /proc/<pid>/cgroup, '' when there is no such process. */
export type CgroupsOf = (pid: number) => string;

const procCgroups: CgroupsOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/cgroup`, 'utf8');
  } catch {
    return '';
  }
};

const joinTarget = (mode: unknown) => (typeof mode === 'string' && mode.startsWith('container:') ? mode.slice('container:'.length) : undefined);

/**
 * The namespaces `record`'s IpcMode and PidMode ask to join, and the host /dev/shm a shareable container binds
 * (shm-resource.ts mounts it); throws moby's errors when a donor cannot give them.
 */
export function joinedNamespaces(
  resolve: Resolve,
  record: ContainerRecord,
  containerDir: (id: string) => string,
  cgroupsOf: CgroupsOf = procCgroups,
): JoinedNamespaces {
  const ipcTarget = joinTarget(record.hostConfig.IpcMode);
  const pidTarget = joinTarget(record.hostConfig.PidMode);
  return {
    ...(record.hostConfig.IpcMode === 'shareable' ? { shm: shmPath(containerDir(record.id)) } : {}),
    ...(ipcTarget !== undefined ? { ipc: ipcDonor(resolve, ipcTarget, containerDir, cgroupsOf) } : {}),
    ...(pidTarget !== undefined ? { pid: `/proc/${pidDonor(resolve, pidTarget, cgroupsOf).state.Pid}/ns/pid` } : {}),
  };
}

/**
 * The donor's record says it runs, and its stored pid must still be its process: a donor that died before the
 * engine saw its exit may have had its pid reused, and joining by it would enter a stranger's (maybe the host's)
 * namespaces. Its process sits in the cgroup named after its id (cgroups.ts cgroupsPath), or below it.
 */
function checkRunning(donor: ContainerRecord, wrap: (err: Fault) => Fault, cgroupsOf: CgroupsOf): void {
  const notRunning = () => wrap(new Fault('conflict', `container ${donor.id} is not running`));
  if (!donor.state.Running) throw notRunning();
  if (donor.state.Restarting) throw wrap(new Fault('conflict', `Container ${donor.id} is restarting, wait until the container is running`));
  if (!inCgroupOf(cgroupsOf(donor.state.Pid), donor.id)) throw notRunning();
}

/** Whether a /proc/<pid>/cgroup text (`hierarchy:controllers:path` lines) puts the process under `id`'s cgroup. */
function inCgroupOf(cgroups: string, id: string): boolean {
  return cgroups.split('\n').some((line) => line.split(':').slice(2).join(':').split('/').includes(id));
}

function ipcDonor(resolve: Resolve, target: string, containerDir: (id: string) => string, cgroupsOf: CgroupsOf): { path: string; shm: string } {
  const prefix = `can't join IPC of container ${target}`;
  const wrap = (err: Fault) => new Fault(err.kind, `${prefix}: ${err.message}`, { cause: err });
  const donor = find(resolve, target, wrap);
  checkRunning(donor, wrap, cgroupsOf);
  const mode = String(donor.hostConfig.IpcMode ?? '');
  // moby's ShmPath exists for shareable and host donors only; its absence is a plain (500) error there.
  if (mode !== 'shareable' && mode !== 'host') throw new Fault('internal', `${prefix}: non-shareable IPC (hint: use IpcMode:shareable for the donor container)`);
  return { path: `/proc/${donor.state.Pid}/ns/ipc`, shm: mode === 'host' ? '/dev/shm' : shmPath(containerDir(donor.id)) };
}

function pidDonor(resolve: Resolve, target: string, cgroupsOf: CgroupsOf): ContainerRecord {
  const donor = find(resolve, target, (err) => new Fault(err.kind, `cannot join PID of a non running container: ${target}: ${err.message}`, { cause: err }));
  checkRunning(donor, (err) => err, cgroupsOf);
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
