import type { PortMapping } from '../networks/network-driver.ts';
import type { MountPoint } from '../volumes/mount-point.ts';
import type { MountStruct } from '../volumes/mount-spec.ts';

/** moby's container.Config as the API carries it (create body, inspect `Config`). */
export interface ContainerConfig {
  Hostname: string;
  Domainname: string;
  User: string;
  AttachStdin: boolean;
  AttachStdout: boolean;
  AttachStderr: boolean;
  ExposedPorts?: Record<string, object> | null;
  Tty: boolean;
  OpenStdin: boolean;
  StdinOnce: boolean;
  Env: string[] | null;
  Cmd: string[] | null;
  Image: string;
  Volumes: Record<string, object> | null;
  WorkingDir: string;
  Entrypoint: string[] | null;
  OnBuild: string[] | null;
  Labels: Record<string, string>;
  StopSignal?: string;
  StopTimeout?: number;
  Healthcheck?: HealthConfig;
  /** The create request's (never the image's: moby does not merge it); CMD-SHELL probes run under it. */
  Shell?: string[];
}

/** moby's container.HealthConfig (`HEALTHCHECK`, `--health-*`): durations in nanoseconds, 0 = the default. */
export interface HealthConfig {
  /** [] inherit, ["NONE"] disabled, ["CMD", argv...], ["CMD-SHELL", command]. */
  Test?: string[] | null;
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

export type HealthStatus = 'starting' | 'healthy' | 'unhealthy';

/** One probe's outcome (types.HealthcheckResult). */
export interface HealthcheckResult {
  Start: string;
  End: string;
  ExitCode: number;
  Output: string;
}

/** State.Health: kept across runs; a start sets it back to starting. */
export interface Health {
  Status: HealthStatus;
  FailingStreak: number;
  Log: HealthcheckResult[] | null;
}

export interface RestartPolicy {
  Name: '' | 'no' | 'always' | 'on-failure' | 'unless-stopped';
  MaximumRetryCount: number;
}

/** The HostConfig fields the engine acts on; the rest of the submitted object is kept and echoed by inspect. */
export interface HostConfig {
  [key: string]: unknown;
  AutoRemove: boolean;
  RestartPolicy: RestartPolicy;
  NetworkMode: string;
  Memory: number;
  MemorySwap: number;
  NanoCpus: number;
  CpuShares: number;
  CpuQuota: number;
  CpuPeriod: number;
  PidsLimit: number | null;
  BlkioWeight: number;
  Privileged: boolean;
  ReadonlyRootfs: boolean;
  CapAdd: string[] | null;
  CapDrop: string[] | null;
  ConsoleSize: [number, number];
  Binds: string[] | null;
  /** `--mount`: bind and volume. */
  Mounts?: MountStruct[] | null;
  VolumesFrom?: string[] | null;
  VolumeDriver?: string;
  Tmpfs?: Record<string, string> | null;
  SecurityOpt?: string[] | null;
  OomKillDisable: boolean | null;
  /** `--init`: docker-init (tini) runs as PID 1 before the command. */
  Init?: boolean | null;
}

export type ContainerStatus = 'created' | 'running' | 'paused' | 'restarting' | 'removing' | 'exited' | 'dead';

export interface ContainerState {
  Status: ContainerStatus;
  Running: boolean;
  Paused: boolean;
  Restarting: boolean;
  OOMKilled: boolean;
  Dead: boolean;
  Pid: number;
  ExitCode: number;
  Error: string;
  StartedAt: string;
  FinishedAt: string;
  /** Present once a container with a healthcheck has started. */
  Health?: Health;
}

/** Everything the engine persists about a container (config.v2.json in moby's layout). */
export interface ContainerRecord {
  id: string;
  /** With the leading slash, as moby stores names. */
  name: string;
  created: string;
  path: string;
  args: string[];
  imageId: string;
  config: ContainerConfig;
  hostConfig: HostConfig;
  state: ContainerState;
  restartCount: number;
  /** `docker stop` sets it (unless-stopped stays down); `docker start` clears it. */
  manuallyStopped: boolean;
  /** The writable snapshot that is this container's rootfs. */
  snapshotKey: string;
  /** Binds and volumes resolved at create; absent in records from before volumes (their binds are re-parsed). */
  mounts?: MountPoint[];
  /**
   * NetworkSettings.Networks: the networks the container is connected to, by name, in the order it joined them
   * (the first carries the default route). Addresses are filled while it runs. Absent for host, none and
   * `container:` modes and in records from before networks (they get the default bridge).
   */
  networks?: Record<string, EndpointSettings>;
  /** Published ports while it runs. */
  ports?: PortMapping[];
  /** Its network namespace while it runs (NetworkSettings.SandboxKey). */
  sandboxKey?: string;
}

/** moby's network.EndpointSettings, as inspect shows it. */
export interface EndpointSettings {
  IPAMConfig: { IPv4Address?: string; IPv6Address?: string; LinkLocalIPs?: string[] } | null;
  Links: string[] | null;
  Aliases: string[] | null;
  MacAddress: string;
  DriverOpts: Record<string, string> | null;
  NetworkID: string;
  EndpointID: string;
  Gateway: string;
  IPAddress: string;
  IPPrefixLen: number;
  IPv6Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  DNSNames: string[] | null;
  /** The user's `--mac-address` (MacAddress shows the one in use while running). Not shown by inspect. */
  DesiredMacAddress?: string;
  /** The address of the last run, asked for again at the next start. Not shown by inspect. */
  LastIPAddress?: string;
  /** The interface inside the container while attached (eth0, eth1, …). Not shown by inspect. */
  InterfaceName?: string;
}

export const zeroTime = '0001-01-01T00:00:00Z';

export function initialState(): ContainerState {
  return {
    Status: 'created',
    Running: false,
    Paused: false,
    Restarting: false,
    OOMKilled: false,
    Dead: false,
    Pid: 0,
    ExitCode: 0,
    Error: '',
    StartedAt: zeroTime,
    FinishedAt: zeroTime,
  };
}
