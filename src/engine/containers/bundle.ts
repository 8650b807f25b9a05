/*
 * OCI bundles (runtime-spec config.json) from a normalized ContainerRunSpec, following moby's default spec
 * (oci/defaults.go, daemon/oci_linux.go): pid/ipc/uts/mount namespaces and a network namespace unless
 * `host`; Docker's 14 default capabilities (add/drop/ALL, everything with --privileged); masked and read-only
 * /proc and /sys paths; /proc, /dev (tmpfs), devpts, shm, mqueue, sysfs and cgroup (read-only unless
 * privileged); hostname/hosts/resolv.conf bound from the bundle directory; the default device rules;
 * NOFILE 1048576 (at most the engine's own hard limit); cgroup limits at /wharf/<id>.
 * seccomp: Docker's blocked syscalls (seccomp.ts) unless privileged or unconfined. Not applied (documented
 * gaps): AppArmor profiles, user namespaces.
 * runc 1.1 creates the default device nodes itself and brings loopback up in a new network namespace.
 */
import { readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname as hostHostname } from 'node:os';
import { join } from 'node:path';
import { readRootfsFile, resolveUser, writeEtcFiles, type EtcFiles, type ResolvedUser } from './bundle-files.ts';
import { cgroupsPath, type CgroupHost } from './cgroups.ts';
import type { ContainerRunSpec, ExecSpec, ResourceLimits } from './runtime.ts';
import { seccompProfile } from './seccomp.ts';
import { applyHostOptions, deviceNumbers, serializeSpec, withGroups } from './spec-options.ts';

/** Where `--init` puts docker-init inside the container. */
export const initPath = '/sbin/docker-init';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Capability names by bit number (linux/capability.h). */
const capabilityNames = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((name) => `CAP_${name}`);

/** moby oci/defaults.go. */
export const maskedPaths = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
export const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** Facts about the host the spec must respect (see cgroups.ts); detected once by the runtime. */
export interface BundleHost {
  cgroups: CgroupHost;
  /** Capabilities the engine itself holds (CapBnd): a container can never get more (sandboxes drop some). */
  bounding: readonly string[];
  /** RLIMIT_NOFILE for containers: 1048576 (dockerd's LimitNOFILE) capped by the engine's own hard limit. */
  nofile: number;
}

/** The engine's hard RLIMIT_NOFILE from /proc/self/limits text; raising it needs CAP_SYS_RESOURCE. */
export function nofileLimit(limitsText: string): number {
  const hard = /^Max open files\s+\S+\s+(\S+)/m.exec(limitsText)?.[1];
  const n = hard === undefined || hard === 'unlimited' ? Infinity : Number(hard);
  return Math.min(1048576, Number.isFinite(n) && n > 0 ? n : 1048576);
}

/** The capabilities a hex mask (CapBnd of /proc/self/status) contains. */
export function capabilitiesInMask(hexMask: string): string[] {
  const mask = BigInt(`0x${hexMask || '0'}`);
  return capabilityNames.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

function normalizeCap(name: string): string {
  const upper = name.toUpperCase();
  return upper.startsWith('CAP_') ? upper : `CAP_${upper}`;
}

/** moby oci/caps TweakCapabilities: drops apply to the defaults, adds on top; ALL in either list. */
export function effectiveCapabilities(options: { privileged: boolean; capAdd: readonly string[]; capDrop: readonly string[] }, bounding: readonly string[]): string[] {
  if (options.privileged) return [...bounding];
  const drop = options.capDrop.map(normalizeCap);
  const add = options.capAdd.map(normalizeCap);
  const base = drop.includes('CAP_ALL') ? [] : add.includes('CAP_ALL') ? [...bounding] : defaultCapabilities;
  return [...new Set([...base.filter((c) => !drop.includes(c)), ...add.filter((c) => c !== 'CAP_ALL')])].filter((c) => bounding.includes(c));
}

/** Character devices every container may use (moby's DefaultSimpleDevices + /dev/pts + tun). */
const allowedDevices = [
  { type: 'c', major: 1, minor: 3 }, // null
  { type: 'c', major: 1, minor: 5 }, // zero
  { type: 'c', major: 1, minor: 7 }, // full
  { type: 'c', major: 1, minor: 8 }, // random
  { type: 'c', major: 1, minor: 9 }, // urandom
  { type: 'c', major: 5, minor: 0 }, // tty
  { type: 'c', major: 5, minor: 1 }, // console
  { type: 'c', major: 5, minor: 2 }, // ptmx
  { type: 'c', major: 136 }, // pts/*
  { type: 'c', major: 10, minor: 200 }, // net/tun
].map((d) => ({ allow: true, access: 'rwm', ...d }));

export function ociResources(r: ResourceLimits, options: { privileged: boolean; cgroups: CgroupHost }): Record<string, unknown> {
  const out: Record<string, unknown> = {
    devices: options.privileged ? [{ allow: true, access: 'rwm' }] : [{ allow: false, access: 'rwm' }, ...allowedDevices],
  };
  if (r.memory > 0) {
    // moby: without an explicit swap limit a container may use as much swap as memory (-1: unlimited).
    const swap = r.memorySwap === -1 ? -1 : r.memorySwap > 0 ? r.memorySwap : r.memory * 2;
    out.memory = { limit: r.memory, ...(options.cgroups.swapAccounting ? { swap } : {}) };
  }
  if (r.memoryReservation) out.memory = { ...(out.memory as object), reservation: r.memoryReservation };
  const cpu: Record<string, number> = {};
  if (r.cpuShares > 0) cpu.shares = r.cpuShares;
  const cpuset = { ...(r.cpusetCpus ? { cpus: r.cpusetCpus } : {}), ...(r.cpusetMems ? { mems: r.cpusetMems } : {}) };
  if (options.cgroups.cpuQuota) {
    if (r.nanoCpus > 0) {
      cpu.period = 100_000;
      cpu.quota = Math.max(1000, Math.round((r.nanoCpus * 100_000) / 1e9));
    } else if (r.cpuQuota > 0) {
      cpu.quota = r.cpuQuota;
      if (r.cpuPeriod > 0) cpu.period = r.cpuPeriod;
    }
  }
  if (Object.keys(cpu).length || Object.keys(cpuset).length) out.cpu = { ...cpu, ...cpuset };
  if (options.cgroups.pids && r.pidsLimit !== null && r.pidsLimit > 0) out.pids = { limit: r.pidsLimit };
  // moby warns and discards the weight when the kernel has no weight file; runc would fail to start.
  if (options.cgroups.blkioWeight && r.blkioWeight > 0) out.blockIO = { weight: r.blkioWeight };
  return out;
}

function ociMounts(spec: ContainerRunSpec, files: EtcFiles): Record<string, unknown>[] {
  const sys = ['nosuid', 'noexec', 'nodev', spec.privileged ? 'rw' : 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sys },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...sys, 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: files.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ['rbind', 'rprivate'] },
    ...(spec.init ? [{ destination: initPath, type: 'bind', source: spec.init, options: ['bind', 'ro'] }] : []),
    ...(spec.mounts ?? []).map((m) =>
      m.tmpfs
        ? { destination: m.destination, type: 'tmpfs', source: 'tmpfs', options: [...m.tmpfs.options, ...(m.readonly ? ['ro'] : [])] }
        : { destination: m.destination, type: 'bind', source: m.source, options: ['rbind', m.propagation ?? 'rprivate', m.readonly ? 'ro' : 'rw'] },
    ),
  ];
}

/** Host devices for --privileged (moby: every device under /dev, except the ones runc makes itself). */
function hostDevices(): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  const skip = new Set(['/dev/pts', '/dev/shm', '/dev/mqueue', '/dev/console', '/dev/ptmx', '/dev/tty', '/dev/fd']);
  const visit = (dir: string, depth: number) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (skip.has(path)) continue;
      let st;
      try {
        st = statSync(path, { throwIfNoEntry: false });
      } catch {
        continue;
      }
      if (!st) continue;
      if (st.isDirectory() && depth < 2) visit(path, depth + 1);
      else if (st.isCharacterDevice() || st.isBlockDevice()) {
        out.push({ path, type: st.isCharacterDevice() ? 'c' : 'b', ...deviceNumbers(st.rdev), fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid });
      }
    }
  };
  visit('/dev', 0);
  return out;
}

export function processUser(user: ResolvedUser): Record<string, unknown> {
  return { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) };
}

function withHome(env: readonly string[], user: ResolvedUser): string[] {
  return env.some((e) => e.startsWith('HOME=')) ? [...env] : [...env, `HOME=${user.home}`];
}

/** The OCI spec for one run; pure (given the resolved user and the etc files). */
export function ociSpec(spec: ContainerRunSpec, user: ResolvedUser, files: EtcFiles, host: BundleHost): Record<string, unknown> {
  return applyHostOptions(defaultOciSpec(spec, user, files, host), spec.hostOptions);
}

function defaultOciSpec(spec: ContainerRunSpec, user: ResolvedUser, files: EtcFiles, host: BundleHost): Record<string, unknown> {
  const caps = effectiveCapabilities(spec, host.bounding);
  const namespaces: { type: string; path?: string }[] = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  // A namespace the engine prepared (veths, addresses, routes) is joined by path, as podman does; runc makes one
  // with only loopback for `none`.
  if (spec.network !== 'host') namespaces.push(spec.netnsPath ? { type: 'network', path: spec.netnsPath } : { type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: spec.terminal,
      ...(spec.terminal && spec.consoleSize?.[0] ? { consoleSize: { height: spec.consoleSize[0], width: spec.consoleSize[1] } } : {}),
      user: processUser(user),
      // moby daemon/oci_linux.go WithInit: docker-init reaps orphans and forwards signals to the command.
      args: spec.init ? [initPath, '--', ...spec.args] : spec.args,
      env: withHome(spec.env, user),
      cwd: spec.cwd || '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: host.nofile, soft: host.nofile }],
      oomScoreAdj: 0,
      ...(spec.noNewPrivileges ? { noNewPrivileges: true } : {}),
    },
    root: { path: 'rootfs', readonly: spec.readonlyRootfs },
    // --network host: the host's name, as docker shows it (the UTS namespace stays private).
    hostname: spec.network === 'host' ? hostHostname() : spec.hostname,
    ...(spec.domainname ? { domainname: spec.domainname } : {}),
    mounts: ociMounts(spec, files),
    linux: {
      cgroupsPath: cgroupsPath(spec.id, spec.hostOptions?.cgroupParent),
      resources: ociResources(spec.resources, { privileged: spec.privileged, cgroups: host.cgroups }),
      namespaces,
      // moby (20.10+): unprivileged ports and ping inside a private network namespace.
      ...(spec.network !== 'host' ? { sysctl: { 'net.ipv4.ip_unprivileged_port_start': '0', 'net.ipv4.ping_group_range': '0 2147483647' } } : {}),
      ...(spec.privileged ? { devices: hostDevices() } : { maskedPaths, readonlyPaths }),
      ...(spec.privileged || spec.seccomp === 'unconfined' ? {} : { seccomp: seccompProfile(caps) }),
    },
  };
}

/** The process's user, with `--group-add`'s groups from the image's /etc/group. */
async function runUser(spec: ContainerRunSpec): Promise<ResolvedUser> {
  const read = (path: string) => readRootfsFile(spec.rootfs, path);
  const user = await resolveUser(read, spec.user);
  const groupAdd = spec.hostOptions?.groupAdd ?? [];
  return groupAdd.length ? withGroups(user, groupAdd, (await read('etc/group')) ?? '') : user;
}

/**
 * Writes the bundle of `spec` (config.json, rootfs/ mount point, etc files) into spec.bundleDir. The rootfs is
 * not mounted here: the runtime mounts it for the lifetime of the run.
 */
export async function writeBundle(spec: ContainerRunSpec, host: BundleHost): Promise<{ config: Record<string, unknown> }> {
  await mkdir(join(spec.bundleDir, 'rootfs'), { recursive: true });
  const name = spec.network === 'host' ? hostHostname() : spec.hostname;
  const [files, user] = await Promise.all([
    writeEtcFiles(spec.bundleDir, { ...spec.etc, hostname: name, network: spec.network }),
    runUser(spec),
  ]);
  const config = ociSpec(spec, user, files, host);
  await writeFile(join(spec.bundleDir, 'config.json'), serializeSpec(config));
  return { config };
}

/**
 * The process.json of `runc exec` for `exec` in a container whose spec is `container`: the container's process
 * settings (capabilities, rlimits) with the exec's argv, env, cwd, user and terminal.
 */
export function execProcessSpec(container: { process: Record<string, unknown> }, exec: ExecSpec, user: ResolvedUser, bounding: readonly string[]): Record<string, unknown> {
  const caps = exec.privileged ? [...bounding] : undefined;
  return {
    ...container.process,
    terminal: exec.terminal,
    consoleSize: exec.terminal && exec.consoleSize?.[0] ? { height: exec.consoleSize[0], width: exec.consoleSize[1] } : undefined,
    args: exec.args,
    env: withHome(exec.env, user),
    cwd: exec.cwd || '/',
    // Without `-u` the exec runs as the container's process does, `--group-add` groups included (moby getUser).
    user: exec.user ? processUser(user) : container.process.user,
    ...(caps ? { capabilities: { bounding: caps, effective: caps, permitted: caps } } : {}),
  };
}
