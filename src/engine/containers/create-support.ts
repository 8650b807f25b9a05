/*
 * What the engine does with each field of a create body (moby API 1.44: container.Config, container.HostConfig
 * with its embedded Resources, network.NetworkingConfig and its EndpointSettings). One table, so that no option is
 * accepted and silently dropped: a field is honoured, refused by name when given a non-zero value, honoured for
 * some values only (the rest refused naming field and value), or one moby itself ignores on Linux. The create
 * schema's test checks that every schema field has an entry here; docs/engine-create-options.md is generated
 * from it (scripts/engine-create-options-doc.ts).
 */
import { Fault } from '../../base/fault.ts';
import { checkDeviceCgroupRule, checkDevice, checkSysctls, checkUlimits } from './spec-options.ts';

export type SupportStatus = 'honoured' | 'refused' | 'moby-ignores' | 'value-checked';

/** The create body as the API schema decoded it; only read here. */
export interface CreateBodyView {
  HostConfig?: object | null;
  NetworkingConfig?: { EndpointsConfig?: Record<string, object | null> | null } | null;
}

export interface FieldSupport {
  status: SupportStatus;
  /** The docker CLI flag that sets the field, for messages and the docs. */
  flag?: string;
  /** What exactly is done or why not, for the docs. */
  note?: string;
  /** A refusal of this (non-zero) value, or undefined: moby's own checks and the values a value-checked field lacks. */
  check?: (value: unknown, request: CreateBodyView) => string | undefined;
  /** For refused fields moby refuses itself: its wording. */
  message?: string;
  /** A Go pointer (*int64): only null is "not given", 0 is a value. */
  pointer?: boolean;
}

const honoured = (flag?: string, note?: string, check?: FieldSupport['check']): FieldSupport => ({ status: 'honoured', flag, note, check });
const refused = (flag: string | undefined, note: string, message?: string): FieldSupport => ({ status: 'refused', flag, note, message });
const ignored = (note: string, flag?: string): FieldSupport => ({ status: 'moby-ignores', flag, note });
const oneOf = (flag: string, values: readonly string[], note: string, refuse: (value: string) => string): FieldSupport => ({
  status: 'value-checked',
  flag,
  note,
  check: (value) => (values.includes(String(value)) ? undefined : refuse(String(value))),
});
const notSupported = (field: string, flag: string, value: string) => `${field} ${JSON.stringify(value)} (${flag}) is not supported by this engine`;
const field = (struct: object | null | undefined, name: string) => (struct as Record<string, unknown> | null | undefined)?.[name];
const blkioDeviceNote = (file: string) => `the device's major:minor from stat of its path at start; discarded with moby's warning without ${file}`;
const networkMode = (request: CreateBodyView) => String(field(request.HostConfig, 'NetworkMode') ?? '');

/** container.Config, by JSON field name. */
const configFields: Record<string, FieldSupport> = {
  Hostname: honoured('--hostname'),
  Domainname: honoured('--domainname'),
  User: honoured('--user'),
  AttachStdin: honoured('--attach stdin'),
  AttachStdout: honoured('--attach stdout'),
  AttachStderr: honoured('--attach stderr'),
  ExposedPorts: honoured('--expose'),
  Tty: honoured('--tty'),
  OpenStdin: honoured('--interactive'),
  StdinOnce: honoured(undefined, 'stdin closes when the attached client detaches'),
  Env: honoured('--env'),
  Cmd: honoured(),
  Healthcheck: honoured('--health-*'),
  ArgsEscaped: ignored('Windows only'),
  Image: honoured(),
  Volumes: honoured('--volume', 'anonymous volumes'),
  WorkingDir: honoured('--workdir'),
  Entrypoint: honoured('--entrypoint'),
  NetworkDisabled: refused(undefined, 'use NetworkMode none (--network none)'),
  MacAddress: honoured('--mac-address', 'the first network\'s endpoint'),
  OnBuild: ignored('build only: kept in the config, run by a build FROM this image'),
  Labels: honoured('--label'),
  StopSignal: honoured('--stop-signal'),
  StopTimeout: honoured('--stop-timeout'),
  Shell: honoured(undefined, 'the shell of CMD-SHELL healthchecks (kept by commit)'),
  HostConfig: honoured(undefined, 'see HostConfig.*'),
  NetworkingConfig: honoured(undefined, 'see NetworkingConfig.*'),
};

/** `--ipc`/`--pid container:<name|id>`: the namespace of that container, joined when this one starts. */
const joinable = (base: FieldSupport): FieldSupport => ({ ...base, check: (v, r) => (/^container:.+/.test(String(v)) ? undefined : base.check!(v, r)) });
const namespaceModes = {
  PidMode: joinable(oneOf('--pid', ['', 'host'], "'' (private), host or container:<name|id> (joined at start; it must be running)", (v) => notSupported('PidMode', '--pid', v))),
  IpcMode: joinable(oneOf('--ipc', ['', 'private', 'shareable', 'none', 'host'], "'', private, shareable, none, host or container:<name|id> (a running shareable or host one)", (v) =>
    notSupported('IpcMode', '--ipc', v),
  )),
  UTSMode: oneOf('--uts', ['', 'host'], "'' (private) or host", (v) => notSupported('UTSMode', '--uts', v)),
  UsernsMode: oneOf('--userns', ['', 'host'], "'' or host: the engine does not remap users, so both are the host's", (v) => notSupported('UsernsMode', '--userns', v)),
  CgroupnsMode: oneOf('--cgroupns', ['', 'host', 'private'], "'' or host (the host's cgroup namespace, moby's default on cgroup v1) or private (a cgroup namespace of its own)", (v) =>
    `invalid cgroup namespace mode: ${v}`,
  ),
};

/** container.HostConfig and its embedded Resources, by JSON field name. */
const hostConfigFields: Record<string, FieldSupport> = {
  Binds: honoured('--volume'),
  ContainerIDFile: ignored('the CLI writes the file itself (--cidfile)', '--cidfile'),
  LogConfig: honoured('--log-driver, --log-opt', 'json-file, local, none'),
  NetworkMode: honoured('--network'),
  PortBindings: honoured('--publish'),
  RestartPolicy: honoured('--restart'),
  AutoRemove: honoured('--rm'),
  VolumeDriver: honoured('--volume-driver', 'local only; another driver is refused'),
  VolumesFrom: honoured('--volumes-from'),
  ConsoleSize: honoured(),
  Annotations: honoured('--annotation', 'OCI annotations of the runtime spec'),
  CapAdd: honoured('--cap-add'),
  CapDrop: honoured('--cap-drop'),
  ...namespaceModes,
  Dns: honoured('--dns'),
  DnsOptions: honoured('--dns-option'),
  DnsSearch: honoured('--dns-search'),
  ExtraHosts: honoured('--add-host'),
  GroupAdd: honoured('--group-add', 'names resolved against the image\'s /etc/group'),
  Cgroup: refused('--cgroup', 'joining another container\'s cgroup'),
  Links: honoured('--link'),
  OomScoreAdj: honoured('--oom-score-adj', 'range -1000..1000', (v) =>
    Number(v) < -1000 || Number(v) > 1000 ? `Invalid value ${v}, range for oom score adj is [-1000, 1000]` : undefined,
  ),
  Privileged: honoured('--privileged'),
  PublishAllPorts: honoured('--publish-all'),
  ReadonlyRootfs: honoured('--read-only'),
  SecurityOpt: honoured('--security-opt', 'seccomp=unconfined and no-new-privileges; others refused'),
  StorageOpt: refused('--storage-opt', 'overlay snapshots have no per-container size'),
  Tmpfs: honoured('--tmpfs'),
  ShmSize: honoured('--shm-size', 'size of /dev/shm (default 64m)', (v) => (Number(v) < 0 ? 'SHM size can not be less than 0' : undefined)),
  Sysctls: honoured('--sysctl', 'namespaced ones only (net.* unless --network host, kernel.msg*/sem/shm*, fs.mqueue.*)', (v, r) =>
    checkSysctls(v as Record<string, string>, networkMode(r)),
  ),
  Runtime: oneOf('--runtime', ['', 'runc'], 'runc only', (v) => `unknown or invalid runtime name: ${v} (--runtime): this engine runs runc only`),
  Isolation: oneOf('--isolation', ['', 'default'], "'' or default (Linux)", (v) => `Invalid isolation: ${JSON.stringify(v)} - linux only supports 'default'`),
  CpuShares: honoured('--cpu-shares'),
  Memory: honoured('--memory'),
  NanoCpus: honoured('--cpus'),
  CgroupParent: honoured('--cgroup-parent', 'the cgroup is <parent>/<id> (cgroupfs driver, as moby); a relative parent sits below the engine\'s own cgroup'),
  BlkioWeight: honoured('--blkio-weight'),
  BlkioWeightDevice: honoured('--blkio-weight-device', blkioDeviceNote('blkio.weight_device')),
  BlkioDeviceReadBps: honoured('--device-read-bps', blkioDeviceNote('blkio.throttle.read_bps_device')),
  BlkioDeviceWriteBps: honoured('--device-write-bps', blkioDeviceNote('blkio.throttle.write_bps_device')),
  BlkioDeviceReadIOps: honoured('--device-read-iops', blkioDeviceNote('blkio.throttle.read_iops_device')),
  BlkioDeviceWriteIOps: honoured('--device-write-iops', blkioDeviceNote('blkio.throttle.write_iops_device')),
  CpuPeriod: honoured('--cpu-period'),
  CpuQuota: honoured('--cpu-quota'),
  CpuRealtimePeriod: refused('--cpu-rt-period', 'real-time scheduling'),
  CpuRealtimeRuntime: refused('--cpu-rt-runtime', 'real-time scheduling'),
  CpusetCpus: honoured('--cpuset-cpus'),
  CpusetMems: honoured('--cpuset-mems'),
  Devices: honoured('--device', 'device nodes (not directories), permissions from rwm', (v) =>
    (v as { PathOnHost?: string; PathInContainer?: string; CgroupPermissions?: string }[]).map(checkDevice).find(Boolean),
  ),
  DeviceCgroupRules: honoured('--device-cgroup-rule', undefined, (v) => (v as string[]).map(checkDeviceCgroupRule).find(Boolean)),
  DeviceRequests: refused('--gpus', 'no device drivers (GPUs)'),
  KernelMemory: ignored('deprecated; runc ignores kernel memory limits', '--kernel-memory'),
  KernelMemoryTCP: refused(undefined, 'kernel TCP buffer limit'),
  MemoryReservation: honoured('--memory-reservation'),
  MemorySwap: honoured('--memory-swap'),
  MemorySwappiness: {
    status: 'honoured',
    pointer: true,
    flag: '--memory-swappiness',
    note: 'cgroup v1 memory.swappiness, 0..100; -1 is unset; discarded with moby\'s warning where the host has no memory.swappiness',
  },
  OomKillDisable: { status: 'value-checked', flag: '--oom-kill-disable', note: 'false only', check: (v) => (v === false ? undefined : 'OomKillDisable (--oom-kill-disable) is not supported by this engine') },
  PidsLimit: honoured('--pids-limit'),
  Ulimits: honoured('--ulimit', 'process rlimits, replacing the default nofile', (v) => checkUlimits(v as { Name?: string; Soft?: number; Hard?: number }[])),
  CpuCount: ignored('Windows only'),
  CpuPercent: ignored('Windows only (moby warns and discards it)', '--cpu-percent'),
  IOMaximumIOps: refused('--io-maxiops', 'Windows only', 'Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps'),
  IOMaximumBandwidth: refused('--io-maxbandwidth', 'Windows only', 'Invalid QoS settings: linux does not support Maximum IO Bandwidth or Maximum IO IOps'),
  Mounts: honoured('--mount', 'bind, volume, tmpfs'),
  MaskedPaths: honoured(undefined, 'replaces the default masked paths (not with --privileged)'),
  ReadonlyPaths: honoured(undefined, 'replaces the default read-only paths (not with --privileged)'),
  Init: honoured('--init', "docker-init is Debian's tini"),
};

/** network.NetworkingConfig and network.EndpointSettings (one per network). */
const networkingFields: Record<string, FieldSupport> = {
  EndpointsConfig: honoured(undefined, 'see NetworkingConfig.EndpointsConfig.*'),
};
const operational = (what: string) => ignored(`${what}: set by the daemon, a given value is replaced`);
const endpointFields: Record<string, FieldSupport> = {
  IPAMConfig: honoured('--ip, --ip6', '--link-local-ip is refused'),
  Links: honoured('--link'),
  Aliases: honoured('--network-alias'),
  MacAddress: honoured('--mac-address'),
  DriverOpts: refused('--network … driver-opt', 'endpoint driver options'),
  GwPriority: refused('--network … gw-priority', 'API 1.48: the default gateway is the first network\'s'),
  NetworkID: honoured(),
  EndpointID: operational('endpoint id'),
  Gateway: operational('gateway'),
  IPAddress: operational('address (ask with IPAMConfig)'),
  IPPrefixLen: operational('prefix length'),
  IPv6Gateway: operational('IPv6 gateway'),
  GlobalIPv6Address: operational('IPv6 address (ask with IPAMConfig)'),
  GlobalIPv6PrefixLen: operational('IPv6 prefix length'),
  DNSNames: operational('DNS names'),
};

/** Every field, by its path in the create body (`*` for a network name). */
export const createSupport: Readonly<Record<string, FieldSupport>> = Object.fromEntries([
  ...Object.entries(configFields),
  ...Object.entries(hostConfigFields).map(([k, v]) => [`HostConfig.${k}`, v]),
  ...Object.entries(networkingFields).map(([k, v]) => [`NetworkingConfig.${k}`, v]),
  ...Object.entries(endpointFields).map(([k, v]) => [`NetworkingConfig.EndpointsConfig.*.${k}`, v]),
]);

/** Go's zero value (and an empty list or map, which moby treats alike): nothing asked. */
export function isZero(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === 0 || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  return typeof value === 'object' && Object.keys(value).length === 0;
}

/** The refusal for one field's value, or undefined. */
function refusal(path: string, support: FieldSupport, value: unknown, request: CreateBodyView): string | undefined {
  if (support.pointer ? value === undefined || value === null : isZero(value)) return undefined;
  const name = path.slice(path.lastIndexOf('.') + 1);
  if (support.status === 'refused') return support.message ?? `${name}${support.flag ? ` (${support.flag})` : ''} is not supported by this engine`;
  return support.check?.(value, request);
}

/** The values at a table path: one, or one per network for endpoint fields. */
function valuesAt(request: CreateBodyView, path: string): unknown[] {
  const [head, ...rest] = path.split('.');
  if (!rest.length) return [field(request, head)];
  if (head === 'HostConfig') return [field(request.HostConfig, rest[0])];
  const endpoints = request.NetworkingConfig?.EndpointsConfig;
  if (rest.length === 1) return [endpoints];
  return Object.values(endpoints ?? {}).map((endpoint) => field(endpoint, rest[2]));
}

/** Refuses (invalid-argument, naming the field) the first field the engine would otherwise not honour. */
export function checkCreateSupport(request: CreateBodyView): void {
  const host = (request as { HostConfig?: { UTSMode?: string } | null }).HostConfig;
  // moby runconfig validateUTSMode: the host's name cannot also be set.
  if (host?.UTSMode === 'host' && (request as { Hostname?: string }).Hostname) {
    throw new Fault('invalid-argument', 'conflicting options: hostname and the UTS mode');
  }
  for (const [path, support] of Object.entries(createSupport)) {
    for (const value of valuesAt(request, path)) {
      const message = refusal(path, support, value, request);
      if (message) throw new Fault('invalid-argument', message);
    }
  }
}
