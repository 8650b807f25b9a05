/*
 * HostConfig options that become a few lines of the OCI spec, as moby's daemon/oci_linux.go writes them:
 * GroupAdd, OomScoreAdj, ShmSize, Sysctls, Ulimits, PidMode/IpcMode/UTSMode host, MaskedPaths/ReadonlyPaths,
 * Annotations, Devices and DeviceCgroupRules, MemorySwappiness, per-device blkio, CgroupnsMode and the namespaces
 * of another container (`--ipc`/`--pid container:X`, resolved by the caller). Their checks (moby's and runc's wording) run at create through
 * create-support.ts; the host's device nodes are read when the run spec is made, so ociSpec stays pure.
 */
import { statSync } from 'node:fs';
import { Fault } from '../../base/fault.ts';
import type { ResolvedUser } from './bundle-files.ts';
import { shmSizeOf } from './shm-resource.ts';

export interface DeviceMappingRequest {
  PathOnHost?: string;
  PathInContainer?: string;
  CgroupPermissions?: string;
}

export interface DeviceRule {
  allow: boolean;
  type: string;
  major?: number;
  minor?: number;
  access: string;
}

/** A host device node as it appears in the container (linux.devices) plus the access its cgroup rule grants. */
export interface LinuxDevice {
  path: string;
  type: 'c' | 'b';
  major: number;
  minor: number;
  fileMode: number;
  uid: number;
  gid: number;
  access: string;
}

export interface HostOptions {
  groupAdd: string[];
  oomScoreAdj: number;
  /** Bytes of /dev/shm: ShmSize, or moby's default 64m for 0 (shm-resource.ts shmSizeOf). */
  shmSize: number;
  sysctls: Record<string, string>;
  ulimits: { name: string; soft: number; hard: number }[];
  pidMode: string;
  ipcMode: string;
  utsMode: string;
  /** null: the defaults. */
  maskedPaths: string[] | null;
  readonlyPaths: string[] | null;
  annotations: Record<string, string>;
  devices: LinuxDevice[];
  deviceRules: DeviceRule[];
  /** 0..100, or null: the kernel's. */
  swappiness: number | null;
  /** linux.resources.blockIO's per-device entries (weightDevice, throttle*Device), empty when none. */
  blockIO: Record<string, { major: number; minor: number; weight?: number; rate?: number }[]>;
  cgroupnsMode: string;
  /** `--cgroup-parent`: the container's cgroup is <parent>/<id> ('' for the engine's /wharf). */
  cgroupParent: string;
  joined: JoinedNamespaces;
}

/** Namespaces of another, running container to join (moby oci_linux.go: /proc/<pid>/ns/<type>). */
export interface JoinedNamespaces {
  /** `--ipc container:X`: X's IPC namespace and the /dev/shm to bind (X's own, or the host's for an IpcMode host X). */
  ipc?: { path: string; shm: string };
  /** `--pid container:X`: X's PID namespace. */
  pid?: string;
  /** `--ipc shareable`: its own /dev/shm, a tmpfs the engine mounted on the host for joiners to bind too. */
  shm?: string;
}

/** HostConfig's per-device blkio lists and the OCI blockIO key each becomes. */
const blkioDeviceFields = {
  BlkioWeightDevice: 'weightDevice',
  BlkioDeviceReadBps: 'throttleReadBpsDevice',
  BlkioDeviceWriteBps: 'throttleWriteBpsDevice',
  BlkioDeviceReadIOps: 'throttleReadIOPSDevice',
  BlkioDeviceWriteIOps: 'throttleWriteIOPSDevice',
} as const;

/** runc's list of sysctls that live in a namespace the container owns (libcontainer/configs/validate). */
const namespacedSysctls = ['kernel.msgmax', 'kernel.msgmnb', 'kernel.msgmni', 'kernel.sem', 'kernel.shmall', 'kernel.shmmax', 'kernel.shmmni', 'kernel.shm_rmid_forced'];
const ulimitNames = ['as', 'core', 'cpu', 'data', 'fsize', 'locks', 'memlock', 'msgqueue', 'nice', 'nofile', 'nproc', 'rss', 'rtprio', 'rttime', 'sigpending', 'stack'];
const cgroupRulePattern = /^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/;

/** The refusal of the first sysctl not in the container's own namespaces (runc's wording), or undefined. */
export function checkSysctls(sysctls: Record<string, string>, networkMode: string): string | undefined {
  for (const key of Object.keys(sysctls)) {
    if (key.startsWith('net.')) {
      if (networkMode === 'host') return `sysctl "${key}" not allowed in host network namespace`;
    } else if (!namespacedSysctls.includes(key) && !key.startsWith('fs.mqueue.')) {
      return `sysctl "${key}" is not in a separate kernel namespace`;
    }
  }
  return undefined;
}

/** moby's (go-units) ulimit checks. */
export function checkUlimits(ulimits: readonly { Name?: string; Soft?: number; Hard?: number }[]): string | undefined {
  for (const { Name = '', Soft = 0, Hard = 0 } of ulimits) {
    if (!ulimitNames.includes(Name)) return `invalid ulimit type: ${Name}`;
    // -1 is unlimited, above any number.
    if (Hard >= 0 && (Soft < 0 || Soft > Hard)) return `ulimit soft limit must be less than or equal to hard limit: ${Soft} > ${Hard}`;
  }
  return undefined;
}

export function checkDeviceCgroupRule(rule: string): string | undefined {
  return cgroupRulePattern.test(rule) ? undefined : `invalid device cgroup format '${rule}'`;
}

/** A `--device` whose host path is not a device node (moby's wording), or whose permissions are not rwm. */
export function checkDevice(device: DeviceMappingRequest): string | undefined {
  try {
    hostDevice(device);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

/** Major and minor numbers of a device's st_rdev (glibc's gnu_dev_major/minor). */
export function deviceNumbers(rdev: number): { major: number; minor: number } {
  const dev = BigInt(rdev);
  return { major: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)), minor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)) };
}

function hostDevice(device: DeviceMappingRequest): LinuxDevice {
  const source = device.PathOnHost ?? '';
  const access = device.CgroupPermissions || 'rwm';
  if (!/^[rwm]{1,3}$/.test(access)) throw new Fault('invalid-argument', `invalid device mode: ${access}`);
  const st = statSync(source, { throwIfNoEntry: false });
  if (!st || !(st.isCharacterDevice() || st.isBlockDevice())) {
    throw new Fault('invalid-argument', `error gathering device information while adding custom device "${source}": not a device node`);
  }
  const path = device.PathInContainer || source;
  return { path, type: st.isCharacterDevice() ? 'c' : 'b', ...deviceNumbers(st.rdev), fileMode: st.mode & 0o777, uid: st.uid, gid: st.gid, access };
}

function deviceRule(rule: string): DeviceRule {
  const [, type, major, minor, access] = cgroupRulePattern.exec(rule) ?? [];
  if (!type) throw new Fault('invalid-argument', `invalid device cgroup format '${rule}'`);
  return { allow: true, type, ...(major !== '*' ? { major: Number(major) } : {}), ...(minor !== '*' ? { minor: Number(minor) } : {}), access };
}

/**
 * moby getBlkioWeightDevices/getBlkioThrottleDevices: each path's major:minor from stat (following links, as
 * unix.Stat does), with its weight or rate; a missing path fails the start with moby's words.
 */
function blockIOOf(host: Record<string, unknown>): HostOptions['blockIO'] {
  const out: HostOptions['blockIO'] = {};
  for (const [field, key] of Object.entries(blkioDeviceFields)) {
    const entries = Array.isArray(host[field]) ? (host[field] as { Path?: string; Weight?: number; Rate?: number }[]) : [];
    if (!entries.length) continue;
    out[key] = entries.map(({ Path = '', Weight, Rate }) => {
      const st = statSync(Path, { throwIfNoEntry: false });
      if (!st) throw new Fault('invalid-argument', `stat ${Path}: no such file or directory`);
      return { ...deviceNumbers(st.rdev), ...(key === 'weightDevice' ? { weight: Number(Weight ?? 0) } : { rate: Number(Rate ?? 0) }) };
    });
  }
  return out;
}

/** The options of a stored HostConfig; reads the host's device nodes. `joined`: the namespaces of `container:X` modes. */
export function hostOptionsOf(host: Record<string, unknown>, joined: JoinedNamespaces = {}): HostOptions {
  const list = <T>(value: unknown) => (Array.isArray(value) ? (value as T[]) : []);
  const map = (value: unknown) => (value && typeof value === 'object' ? (value as Record<string, string>) : {});
  const paths = (value: unknown) => (Array.isArray(value) ? (value as string[]) : null);
  return {
    groupAdd: list<string>(host.GroupAdd),
    oomScoreAdj: Number(host.OomScoreAdj ?? 0),
    shmSize: shmSizeOf(host),
    sysctls: map(host.Sysctls),
    ulimits: list<{ Name: string; Soft: number; Hard: number }>(host.Ulimits).map((u) => ({ name: u.Name, soft: u.Soft ?? 0, hard: u.Hard ?? 0 })),
    pidMode: String(host.PidMode ?? ''),
    ipcMode: String(host.IpcMode ?? ''),
    utsMode: String(host.UTSMode ?? ''),
    maskedPaths: paths(host.MaskedPaths),
    readonlyPaths: paths(host.ReadonlyPaths),
    annotations: map(host.Annotations),
    devices: list<DeviceMappingRequest>(host.Devices).map(hostDevice),
    deviceRules: list<string>(host.DeviceCgroupRules).map(deviceRule),
    swappiness: host.MemorySwappiness == null || Number(host.MemorySwappiness) < 0 ? null : Number(host.MemorySwappiness),
    blockIO: blockIOOf(host),
    cgroupnsMode: String(host.CgroupnsMode ?? ''),
    cgroupParent: String(host.CgroupParent ?? ''),
    joined,
  };
}

/** GroupAdd as moby resolves it: a group name or gid from the image's /etc/group, or any number. */
export function withGroups(user: ResolvedUser, groupAdd: readonly string[], groupFile: string): ResolvedUser {
  if (!groupAdd.length) return user;
  const groups = groupFile.split('\n').map((line) => line.split(':'));
  const gids = groupAdd.map((name) => {
    const entry = groups.find((g) => g[0] === name) ?? groups.find((g) => g[2] === name && /^\d+$/.test(name));
    if (entry) return Number(entry[2]);
    if (/^\d+$/.test(name)) return Number(name);
    throw new Fault('invalid-argument', `Unable to find group ${name}: no matching entries in group file`);
  });
  return { ...user, additionalGids: [...new Set([...user.additionalGids, ...gids])] };
}

type Spec = Record<string, unknown> & { process: Record<string, unknown>; linux: Record<string, unknown>; mounts: Record<string, unknown>[] };

/** The OCI spec `spec` with `options` applied (moby daemon/oci_linux.go). */
export function applyHostOptions(base: Record<string, unknown>, options: HostOptions | undefined): Record<string, unknown> {
  if (!options) return base;
  const spec = structuredClone(base) as Spec;
  spec.process.oomScoreAdj = options.oomScoreAdj;
  spec.process.rlimits = rlimits(spec.process.rlimits as { type: string }[], options.ulimits);
  const dropped = new Set([...(options.pidMode === 'host' ? ['pid'] : []), ...(options.ipcMode === 'host' ? ['ipc'] : []), ...(options.utsMode === 'host' ? ['uts'] : [])]);
  spec.linux.namespaces = namespaces(spec.linux.namespaces as { type: string }[], dropped, options);
  // runc cannot set a name without a UTS namespace of the container's own; it keeps the host's.
  if (dropped.has('uts')) {
    delete spec.hostname;
    delete spec.domainname;
  }
  spec.mounts = shmMounts(spec.mounts, options);
  if (Object.keys(options.sysctls).length) spec.linux.sysctl = { ...(spec.linux.sysctl as object), ...options.sysctls };
  if (spec.linux.maskedPaths && options.maskedPaths) spec.linux.maskedPaths = options.maskedPaths;
  if (spec.linux.readonlyPaths && options.readonlyPaths) spec.linux.readonlyPaths = options.readonlyPaths;
  if (Object.keys(options.annotations).length) spec.annotations = { ...options.annotations };
  applyDevices(spec.linux, options);
  applyCgroupResources(spec.linux, options);
  return spec;
}

/** Without the host's, joined by path (`container:X`), plus a cgroup namespace for CgroupnsMode private. */
function namespaces(base: { type: string; path?: string }[], dropped: Set<string>, options: HostOptions): { type: string; path?: string }[] {
  const { ipc, pid } = options.joined;
  const joined = base.filter((ns) => !dropped.has(ns.type)).map((ns) => {
    if (ns.type === 'ipc' && ipc) return { type: 'ipc', path: ipc.path };
    if (ns.type === 'pid' && pid) return { type: 'pid', path: pid };
    return ns;
  });
  return options.cgroupnsMode === 'private' ? [...joined, { type: 'cgroup' }] : joined;
}

function applyCgroupResources(linux: Record<string, unknown>, options: HostOptions): void {
  if (options.swappiness === null && !Object.keys(options.blockIO).length) return;
  const resources = (linux.resources ?? {}) as Record<string, Record<string, unknown> | undefined>;
  if (options.swappiness !== null) resources.memory = { ...resources.memory, swappiness: options.swappiness };
  if (Object.keys(options.blockIO).length) resources.blockIO = { ...resources.blockIO, ...options.blockIO };
  linux.resources = resources;
}

/**
 * RLIM_INFINITY as runc reads it (uint64 max, which a JS number cannot hold): a placeholder the bundle writer
 * turns into the literal when it serialises the spec. go-units turns `-1` (`--ulimit memlock=-1:-1`) into it.
 */
export const rlimInfinity = 'RLIM_INFINITY:18446744073709551615';

/** config.json text, with `rlimInfinity` placeholders written as the uint64 literal. */
export function serializeSpec(spec: unknown): string {
  return JSON.stringify(spec).replaceAll(`"${rlimInfinity}"`, rlimInfinity.slice(rlimInfinity.indexOf(':') + 1));
}

/** Reads config.json text back without losing RLIM_INFINITY to float rounding (the inverse of serializeSpec). */
export function parseSpec(text: string): unknown {
  const literal = rlimInfinity.slice(rlimInfinity.indexOf(':') + 1);
  return JSON.parse(text.replace(new RegExp(`(?<=[:\\[,]\\s*)${literal}(?=\\s*[,}\\]])`, 'g'), `"${rlimInfinity}"`));
}

function rlimits(defaults: { type: string }[], ulimits: HostOptions['ulimits']): unknown[] {
  const limit = (value: number) => (value < 0 ? rlimInfinity : value);
  const given = ulimits.map((u) => ({ type: `RLIMIT_${u.name.toUpperCase()}`, hard: limit(u.hard), soft: limit(u.soft) }));
  return [...defaults.filter((d) => !given.some((g) => g.type === d.type)), ...given];
}

/** IpcMode none: no /dev/shm; host: the host's; shareable and container:X: the engine's host tmpfs (moby's ShmPath); otherwise a tmpfs of ShmSize. */
function shmMounts(mounts: Record<string, unknown>[], options: HostOptions): Record<string, unknown>[] {
  if (options.ipcMode === 'none') return mounts.filter((m) => m.destination !== '/dev/shm');
  const shared = options.ipcMode === 'host' ? '/dev/shm' : (options.joined.ipc?.shm ?? options.joined.shm);
  return mounts.map((m) => {
    if (m.destination !== '/dev/shm' || m.type !== 'tmpfs') return m;
    if (shared) return { destination: '/dev/shm', type: 'bind', source: shared, options: ['rbind', 'rprivate'] };
    const size = `size=${options.shmSize}`;
    return { ...m, options: [...(m.options as string[]).filter((o) => !o.startsWith('size=')), size] };
  });
}

function applyDevices(linux: Record<string, unknown>, options: HostOptions): void {
  if (!options.devices.length && !options.deviceRules.length) return;
  const resources = (linux.resources ?? {}) as Record<string, unknown>;
  const rules = options.devices.map((d) => ({ allow: true, type: d.type, major: d.major, minor: d.minor, access: d.access }));
  resources.devices = [...((resources.devices as unknown[]) ?? []), ...rules, ...options.deviceRules];
  linux.resources = resources;
  const devices = options.devices.map(({ access: _access, ...device }) => device);
  linux.devices = [...((linux.devices as unknown[]) ?? []).filter((d) => !devices.some((n) => n.path === (d as { path: string }).path)), ...devices];
}
