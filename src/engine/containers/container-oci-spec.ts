/*
 * INTERIM — the lower half's src/engine/containers/bundle.ts owns OCI spec generation. This is the upper half's
 * stand-in so `docker run` works end to end until it lands; container-runc-launcher.ts will switch to it.
 */
import type { LaunchRequest } from './container-launcher.ts';

/** Docker's default capability set (moby oci/caps/defaults.go). */
export const defaultCapabilities = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];

/** Capability names by bit number (linux/capability.h), for --privileged and the host's bounding set. */
const capabilityNames = [
  'CHOWN', 'DAC_OVERRIDE', 'DAC_READ_SEARCH', 'FOWNER', 'FSETID', 'KILL', 'SETGID', 'SETUID', 'SETPCAP', 'LINUX_IMMUTABLE',
  'NET_BIND_SERVICE', 'NET_BROADCAST', 'NET_ADMIN', 'NET_RAW', 'IPC_LOCK', 'IPC_OWNER', 'SYS_MODULE', 'SYS_RAWIO', 'SYS_CHROOT',
  'SYS_PTRACE', 'SYS_PACCT', 'SYS_ADMIN', 'SYS_BOOT', 'SYS_NICE', 'SYS_RESOURCE', 'SYS_TIME', 'SYS_TTY_CONFIG', 'MKNOD', 'LEASE',
  'AUDIT_WRITE', 'AUDIT_CONTROL', 'SETFCAP', 'MAC_OVERRIDE', 'MAC_ADMIN', 'SYSLOG', 'WAKE_ALARM', 'BLOCK_SUSPEND', 'AUDIT_READ',
  'PERFMON', 'BPF', 'CHECKPOINT_RESTORE',
].map((name) => `CAP_${name}`);

/** The capabilities a hex mask (CapBnd of /proc/self/status) contains: a container can never hold more. */
export function capabilitiesInMask(hexMask: string): string[] {
  const mask = BigInt(`0x${hexMask || '0'}`);
  return capabilityNames.filter((_, bit) => (mask >> BigInt(bit)) & 1n);
}

/** moby oci/defaults.go masked and read-only paths. */
const maskedPaths = [
  '/proc/asound', '/proc/acpi', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/sys/firmware', '/sys/devices/virtual/powercap',
];
const readonlyPaths = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
  /** The passwd home directory, for HOME when the image and user set none (moby does the same). */
  home: string;
}

export interface SpecFiles {
  hostname: string;
  hosts: string;
  resolvConf: string;
}

function capabilities(request: LaunchRequest, bounding: readonly string[]): string[] {
  if (request.privileged) return [...bounding];
  const normalize = (c: string) => (c.toUpperCase().startsWith('CAP_') ? c.toUpperCase() : `CAP_${c.toUpperCase()}`);
  const drop = request.capDrop.map(normalize);
  const add = request.capAdd.map(normalize);
  if (add.includes('CAP_ALL')) return bounding.filter((c) => !drop.includes(c));
  const base = drop.includes('CAP_ALL') ? [] : defaultCapabilities.filter((c) => !drop.includes(c));
  return [...new Set([...base, ...add])].filter((c) => bounding.includes(c));
}

function resources(request: LaunchRequest, swapAccounting: boolean): Record<string, unknown> {
  const r = request.resources;
  const out: Record<string, unknown> = { devices: [{ allow: false, access: 'rwm' }] };
  if (r.memory > 0) {
    // moby: without an explicit swap limit a container may use as much swap as memory.
    const swap = r.memorySwap === -1 ? -1 : r.memorySwap > 0 ? r.memorySwap : r.memory * 2;
    out.memory = { limit: r.memory, ...(swapAccounting ? { swap } : {}) };
  }
  const cpu: Record<string, number> = {};
  if (r.cpuShares > 0) cpu.shares = r.cpuShares;
  if (r.nanoCpus > 0) {
    cpu.period = 100_000;
    cpu.quota = Math.round((r.nanoCpus * 100_000) / 1e9);
  } else if (r.cpuQuota > 0) {
    cpu.quota = r.cpuQuota;
    if (r.cpuPeriod > 0) cpu.period = r.cpuPeriod;
  }
  if (Object.keys(cpu).length) out.cpu = cpu;
  if (r.pidsLimit !== null && r.pidsLimit > 0) out.pids = { limit: r.pidsLimit };
  if (r.blkioWeight > 0) out.blockIO = { weight: r.blkioWeight };
  return out;
}

function mounts(request: LaunchRequest, files: SpecFiles): Record<string, unknown>[] {
  const sysOptions = ['nosuid', 'noexec', 'nodev', request.privileged ? 'rw' : 'ro'];
  return [
    { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
    { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
    { destination: '/sys', type: 'sysfs', source: 'sysfs', options: sysOptions },
    { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: [...sysOptions, 'relatime'] },
    { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
    { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=67108864'] },
    { destination: '/etc/resolv.conf', type: 'bind', source: files.resolvConf, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hostname', type: 'bind', source: files.hostname, options: ['rbind', 'rprivate'] },
    { destination: '/etc/hosts', type: 'bind', source: files.hosts, options: ['rbind', 'rprivate'] },
  ];
}

/** The OCI runtime spec (config.json) for one container run. */
export function ociSpec(
  request: LaunchRequest,
  user: ResolvedUser,
  files: SpecFiles,
  options: { swapAccounting: boolean; bounding: readonly string[] },
): Record<string, unknown> {
  const caps = capabilities(request, options.bounding);
  // --network host shares the host's network and, as with docker, its hostname.
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'mount' }];
  if (request.network !== 'host') namespaces.push({ type: 'uts' }, { type: 'network' });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: request.terminal,
      ...(request.terminal && request.consoleSize ? { consoleSize: { height: request.consoleSize[0], width: request.consoleSize[1] } } : {}),
      user: { uid: user.uid, gid: user.gid, ...(user.additionalGids.length ? { additionalGids: user.additionalGids } : {}) },
      args: request.args,
      env: request.env,
      cwd: request.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      oomScoreAdj: 0,
    },
    root: { path: 'rootfs', readonly: request.readonlyRootfs },
    hostname: request.network === 'host' ? undefined : request.hostname,
    ...(request.domainname ? { domainname: request.domainname } : {}),
    mounts: mounts(request, files),
    linux: {
      cgroupsPath: `/wharf/${request.id}`,
      resources: resources(request, options.swapAccounting),
      namespaces,
      ...(request.privileged ? {} : { maskedPaths, readonlyPaths }),
    },
  };
}
