import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { recordMounts } from './container-spec.ts';
import type { DaemonContext } from './daemon-context.ts';
import { mergeEnv } from './container-spec.ts';
import { defaultPath } from './run-spec.ts';

export async function pids(ctx: DaemonContext, input: string): Promise<number[]> {
  const record = ctx.deps.store.resolve(input);
  if (!record.state.Running || record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is not running`);
  return ctx.deps.runtime.ps(record.id);
}

/** The container an exec may run in: running, not paused or restarting (moby's wording otherwise). */
export function execTarget(ctx: DaemonContext, input: string): ContainerRecord {
  const record = ctx.deps.store.resolve(input);
  if (record.state.Paused) throw new Fault('conflict', `Container ${record.id} is paused, unpause the container before exec`);
  if (record.state.Restarting) throw new Fault('conflict', `Container ${record.id} is restarting, wait until the container is running`);
  if (!record.state.Running || !ctx.live.get(record.id)?.process) throw new Fault('conflict', `Container ${record.id} is not running`);
  return record;
}

/** What an exec inherits: the container's environment (exec Env overriding), working dir and bundle. */
export function execContext(
  ctx: DaemonContext,
  id: string,
  exec: { Env?: string[] | null; WorkingDir?: string; Tty?: boolean },
): { record: ContainerRecord; bundleDir: string; env: string[]; cwd: string } {
  const record = execTarget(ctx, id);
  const env = mergeEnv([defaultPath, `HOSTNAME=${record.config.Hostname}`, ...(exec.Tty ? ['TERM=xterm'] : [])], [...(record.config.Env ?? []), ...(exec.Env ?? [])]);
  return { record, bundleDir: ctx.bundleDir(record.id), env, cwd: exec.WorkingDir || record.config.WorkingDir || '/' };
}

/** The image ID a reference names, if any (ps `ancestor` filter). */
export function imageOf(ctx: DaemonContext, ref: string): string | undefined {
  try {
    return ctx.deps.images.store.find(ref)?.id;
  } catch {
    return undefined;
  }
}

/** Containers using an image (for rmi's conflicts). */
export function usersOf(ctx: DaemonContext, imageId: string): { id: string; running: boolean }[] {
  return ctx.deps.store
    .list()
    .filter((c) => c.imageId === imageId)
    .map((c) => ({ id: c.id, running: c.state.Running }));
}

/** The containers whose mounts name volume `name` (`volume rm` refuses while there are any). */
export function volumeUsers(ctx: DaemonContext, name: string): string[] {
  return ctx.deps.store.list().filter((c) => recordMounts(c).some((m) => m.Name === name)).map((c) => c.id);
}

/** One container attached to a network (moby's EndpointResource in network inspect). */
export interface NetworkEndpoint {
  containerId: string;
  name: string;
  endpointId: string;
  mac: string;
  /** With its prefix length: `172.18.0.2/16`. */
  ipv4Address: string;
}

/** The containers that hold an address on `networkId` now. */
export function networkEndpoints(ctx: DaemonContext, networkId: string): NetworkEndpoint[] {
  return ctx.deps.store.list().flatMap((c) =>
    Object.values(c.networks ?? {})
      .filter((s) => s.NetworkID === networkId && s.IPAddress)
      .map((s) => ({ containerId: c.id, name: c.name.slice(1), endpointId: s.EndpointID, mac: s.MacAddress, ipv4Address: `${s.IPAddress}/${s.IPPrefixLen}` })),
  );
}
