/*
 * Named network namespaces, as `ip netns` keeps them: a bind mount of the namespace on /run/netns/<name>, so the
 * namespace outlives every process in it and runc can join it by path before the container's process starts.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { ipBatch, isMissingDevice, runHostCommand } from './host-commands.ts';

const netnsDir = '/run/netns';

/** Where the namespace called `name` is (or would be) mounted. */
export function netnsPath(name: string): string {
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/.test(name)) throw new Fault('invalid-argument', `invalid network namespace name ${JSON.stringify(name)}`);
  return join(netnsDir, name);
}

/** The name of a namespace mounted under /run/netns (what `ip -n` takes), from its path. */
export function netnsName(path: string): string {
  const name = path.startsWith(`${netnsDir}/`) ? path.slice(netnsDir.length + 1) : '';
  if (!name || netnsPath(name) !== path) throw new Fault('invalid-argument', `network namespace ${path} is not under ${netnsDir}`);
  return name;
}

/**
 * Makes the namespace with its loopback up and returns its path. One spawn: `netns exec` in batch mode forks
 * before it switches, so the batch itself stays in the host's namespace. A namespace left by a crash is reused.
 */
export async function createNetns(name: string): Promise<string> {
  const path = netnsPath(name);
  const lines = existsSync(path) ? [] : [`netns add ${name}`];
  await ipBatch([...lines, `netns exec ${name} ip link set lo up`]);
  return path;
}

/** Unmounts and removes the namespace; one that is already gone is fine. */
export async function deleteNetns(name: string): Promise<void> {
  if (!existsSync(netnsPath(name))) return;
  await runHostCommand(['ip', 'netns', 'delete', name]).catch((err: unknown) => {
    if (!isMissingDevice(err)) throw err;
  });
}
