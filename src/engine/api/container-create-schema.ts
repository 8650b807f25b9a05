import { z } from 'zod';
import { goBool, goEnum, goInt, goSet, goString, goStringMap, goStrings, goStrSlice, goStruct, goStructList, goStructListMap, goStructMap, goUintPair } from './go-json.ts';

const restartPolicyNames = ['', 'no', 'always', 'on-failure', 'unless-stopped'] as const;

/** mount.Mount: `--mount`; only the fields the engine reads are typed, the rest are kept as given. */
const mountFields = {
  Type: goString(),
  Source: goString(),
  Target: goString(),
  ReadOnly: goBool(),
  BindOptions: goStruct('mount.BindOptions', { Propagation: goString() }),
  VolumeOptions: goStruct('mount.VolumeOptions', {
    NoCopy: goBool(),
    Labels: goStringMap(),
    DriverConfig: goStruct('mount.Driver', { Name: goString(), Options: goStringMap() }),
  }),
  TmpfsOptions: goStruct('mount.TmpfsOptions', { SizeBytes: goInt('int64'), Mode: goInt('uint32') }),
};

/**
 * EndpointSettings.GwPriority (API 1.48): which network gives the default gateway. Here the first network a
 * container joins always does, so any other priority is refused rather than ignored.
 */
export const gwPrioritySchema = () =>
  goInt('int').transform((priority, ctx) => {
    if (!priority) return priority;
    ctx.addIssue({ code: 'custom', message: `GwPriority ${priority} is not supported: this engine takes the default gateway from the container's first network` });
    return z.NEVER;
  });

/** network.EndpointSettings as a create or connect body carries it. */
export const endpointSettingsFields = {
  IPAMConfig: goStruct('network.EndpointIPAMConfig', { IPv4Address: goString(), IPv6Address: goString(), LinkLocalIPs: goStrings() }),
  Links: goStrings(),
  Aliases: goStrings(),
  MacAddress: goString(),
  DriverOpts: goStringMap(),
  GwPriority: gwPrioritySchema(),
  NetworkID: goString(),
  EndpointID: goString(),
  Gateway: goString(),
  IPAddress: goString(),
  IPPrefixLen: goInt('int'),
  IPv6Gateway: goString(),
  GlobalIPv6Address: goString(),
  GlobalIPv6PrefixLen: goInt('int'),
  DNSNames: goStrings(),
};

const throttleDevices = () => goStructList('blkiodev.ThrottleDevice', { Path: goString(), Rate: goInt('uint') });

/** container.HostConfig, with its embedded Resources; moby's names and Go types. */
export const hostConfigSchema = goStruct('container.HostConfig', {
  Binds: goStrings(),
  ContainerIDFile: goString(),
  LogConfig: goStruct('container.LogConfig', { Type: goString(), Config: goStringMap() }),
  NetworkMode: goString(),
  PortBindings: goStructListMap('nat.PortMap', 'nat.PortBinding', { HostIp: goString(), HostPort: goString() }),
  RestartPolicy: goStruct('container.RestartPolicy', {
    Name: goEnum(
      restartPolicyNames,
      (name) => `invalid restart policy: unknown policy '${name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    ),
    MaximumRetryCount: goInt('int'),
  }),
  AutoRemove: goBool(),
  VolumeDriver: goString(),
  VolumesFrom: goStrings(),
  ConsoleSize: goUintPair(),
  Annotations: goStringMap(),
  CapAdd: goStrSlice(),
  CapDrop: goStrSlice(),
  CgroupnsMode: goString(),
  Dns: goStrings(),
  DnsOptions: goStrings(),
  DnsSearch: goStrings(),
  ExtraHosts: goStrings(),
  GroupAdd: goStrings(),
  IpcMode: goString(),
  Cgroup: goString(),
  Links: goStrings(),
  OomScoreAdj: goInt('int'),
  PidMode: goString(),
  Privileged: goBool(),
  PublishAllPorts: goBool(),
  ReadonlyRootfs: goBool(),
  SecurityOpt: goStrings(),
  StorageOpt: goStringMap(),
  Tmpfs: goStringMap(),
  UTSMode: goString(),
  UsernsMode: goString(),
  ShmSize: goInt('int64'),
  Sysctls: goStringMap(),
  Runtime: goString(),
  Isolation: goString(),
  CpuShares: goInt('int64'),
  Memory: goInt('int64'),
  NanoCpus: goInt('int64'),
  CgroupParent: goString(),
  BlkioWeight: goInt('uint16'),
  BlkioWeightDevice: goStructList('blkiodev.WeightDevice', { Path: goString(), Weight: goInt('uint16') }),
  BlkioDeviceReadBps: throttleDevices(),
  BlkioDeviceWriteBps: throttleDevices(),
  BlkioDeviceReadIOps: throttleDevices(),
  BlkioDeviceWriteIOps: throttleDevices(),
  CpuPeriod: goInt('int64'),
  CpuQuota: goInt('int64'),
  CpuRealtimePeriod: goInt('int64'),
  CpuRealtimeRuntime: goInt('int64'),
  CpusetCpus: goString(),
  CpusetMems: goString(),
  Devices: goStructList('container.DeviceMapping', { PathOnHost: goString(), PathInContainer: goString(), CgroupPermissions: goString() }),
  DeviceCgroupRules: goStrings(),
  // Capabilities ([][]string) is kept as given: the field is refused whole.
  DeviceRequests: goStructList('container.DeviceRequest', { Driver: goString(), Count: goInt('int'), DeviceIDs: goStrings(), Options: goStringMap() }),
  KernelMemory: goInt('int64'),
  KernelMemoryTCP: goInt('int64'),
  MemoryReservation: goInt('int64'),
  MemorySwap: goInt('int64'),
  MemorySwappiness: goInt('int64'),
  OomKillDisable: goBool(),
  PidsLimit: goInt('int64'),
  Ulimits: goStructList('units.Ulimit', { Name: goString(), Hard: goInt('int64'), Soft: goInt('int64') }),
  CpuCount: goInt('int64'),
  CpuPercent: goInt('int64'),
  IOMaximumIOps: goInt('uint'),
  IOMaximumBandwidth: goInt('uint'),
  Mounts: goStructList('mount.Mount', mountFields),
  MaskedPaths: goStrings(),
  ReadonlyPaths: goStrings(),
  Init: goBool(),
});

/** moby's container.Config: the create body carries it inline, `docker commit` as its body. */
export const containerConfigFields = {
  Hostname: goString(),
  Domainname: goString(),
  User: goString(),
  AttachStdin: goBool(),
  AttachStdout: goBool(),
  AttachStderr: goBool(),
  ExposedPorts: goSet(),
  Tty: goBool(),
  OpenStdin: goBool(),
  StdinOnce: goBool(),
  Env: goStrings(),
  Cmd: goStrSlice(),
  ArgsEscaped: goBool(),
  Image: goString(),
  Volumes: goSet(),
  WorkingDir: goString(),
  Entrypoint: goStrSlice(),
  NetworkDisabled: goBool(),
  MacAddress: goString(),
  OnBuild: goStrings(),
  Labels: goStringMap(),
  StopSignal: goString(),
  StopTimeout: goInt('int'),
  Shell: goStrSlice(),
  Healthcheck: goStruct('container.HealthConfig', {
    Test: goStrings(),
    Interval: goInt('int64'),
    Timeout: goInt('int64'),
    StartPeriod: goInt('int64'),
    StartInterval: goInt('int64'),
    Retries: goInt('int'),
  }),
};

/**
 * POST /containers/create: moby's container.CreateRequest (container.Config with HostConfig and
 * NetworkingConfig). Unknown fields are ignored as Go ignores them; after decoding, moby's own checks that need
 * no daemon state (the working directory must be absolute) are made here, so they are a 400 at create.
 */
export const containerCreateBody = goStruct('container.CreateRequest', {
  ...containerConfigFields,
  HostConfig: hostConfigSchema,
  NetworkingConfig: goStruct('network.NetworkingConfig', { EndpointsConfig: goStructMap('network.EndpointSettings', endpointSettingsFields) }),
}).superRefine((request, ctx) => {
  const dir = request?.WorkingDir;
  // daemon/container.go translateWorkingDir
  if (dir && !dir.startsWith('/')) {
    ctx.addIssue({ code: 'custom', path: ['WorkingDir'], message: `the working directory '${dir}' is invalid, it needs to be an absolute path` });
  }
});

export type ContainerCreateBody = NonNullable<z.output<typeof containerCreateBody>>;
