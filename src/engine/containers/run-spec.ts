import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { Fault } from '../../base/fault.ts';
import type { ContainerRecord } from './container-record.ts';
import { bindMounts, mergeEnv, parseSecurityOpt, recordMounts } from './container-spec.ts';
import { etcOptions, runNetwork } from './container-run-network.ts';
import type { DaemonContext } from './daemon-context.ts';
import type { BindMount, ContainerRunSpec } from './runtime.ts';
import { joinedNamespaces } from './joined-namespaces.ts';
import { hostOptionsOf } from './spec-options.ts';

/** docker-init: Debian's static tini, since the container may have no libc (moby binds the same build). */
export const initBinary = '/usr/bin/tini-static';

export const defaultPath = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** What the runtime needs to run a container's process, from its record. */
export async function runSpec(ctx: DaemonContext, record: ContainerRecord): Promise<ContainerRunSpec> {
  const { config, hostConfig } = record;
  const net = runNetwork(ctx, record);
  const env = mergeEnv([defaultPath, `HOSTNAME=${net.hostname}`, ...(config.Tty ? ['TERM=xterm'] : [])], [...net.links.env, ...(config.Env ?? [])]);
  return {
    id: record.id,
    bundleDir: ctx.bundleDir(record.id),
    rootfs: await ctx.deps.snapshotter.mounts(record.snapshotKey),
    args: [record.path, ...record.args],
    env,
    cwd: config.WorkingDir || '/',
    user: config.User,
    hostname: net.hostname,
    domainname: config.Domainname,
    terminal: config.Tty,
    consoleSize: hostConfig.ConsoleSize?.[0] ? hostConfig.ConsoleSize : undefined,
    openStdin: config.OpenStdin,
    network: net.network,
    ...(net.netnsPath ? { netnsPath: net.netnsPath } : {}),
    resources: {
      memory: hostConfig.Memory,
      memorySwap: hostConfig.MemorySwap,
      nanoCpus: hostConfig.NanoCpus,
      cpuShares: hostConfig.CpuShares,
      cpuQuota: hostConfig.CpuQuota,
      cpuPeriod: hostConfig.CpuPeriod,
      pidsLimit: hostConfig.PidsLimit,
      blkioWeight: hostConfig.BlkioWeight,
      memoryReservation: Number(hostConfig.MemoryReservation ?? 0),
      cpusetCpus: String(hostConfig.CpusetCpus ?? ''),
      cpusetMems: String(hostConfig.CpusetMems ?? ''),
    },
    privileged: hostConfig.Privileged,
    readonlyRootfs: hostConfig.ReadonlyRootfs,
    capAdd: hostConfig.CapAdd ?? [],
    capDrop: hostConfig.CapDrop ?? [],
    ...parseSecurityOpt(hostConfig.SecurityOpt),
    mounts: await createBindSources(bindMounts(recordMounts(record))),
    etc: etcOptions(record, net),
    ...(hostConfig.Init ? { init: initPath() } : {}),
    hostOptions: hostOptionsOf(hostConfig, joinedNamespaces((input) => ctx.deps.store.resolve(input), record, (id) => ctx.deps.store.dirOf(id))),
  };
}

/** moby's daemon default for `--init` is off; asked for, the binary must be there (Debian package tini). */
function initPath(): string {
  if (!existsSync(initBinary)) throw new Fault('failed-precondition', `docker-init binary not found: ${initBinary} (install Debian's tini)`);
  return initBinary;
}

/** moby creates a missing `-v` source directory at start (a `--mount` source was checked at create). */
async function createBindSources(mounts: BindMount[]): Promise<BindMount[]> {
  await Promise.all(mounts.filter((m) => !m.tmpfs && !existsSync(m.source)).map((m) => mkdir(m.source, { recursive: true, mode: 0o755 })));
  return mounts;
}
