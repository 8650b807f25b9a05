import { existsSync } from 'node:fs';
import { Fault } from '../../base/fault.ts';
import type { ImageConfig } from '../images/image-config.ts';
import type { ContainerConfig, HostConfig, RestartPolicy } from './container-record.ts';
import { parseSignal } from './container-signals.ts';
import { checkBlkioWeight, minMemory, verifyCpu } from './resource-checks.ts';
import { logSettings, normalizeLogConfig, type LogConfigInput } from './log-config.ts';
import type { BindMount, ResourceSupport } from './runtime.ts';
import type { MountPoint } from '../volumes/mount-point.ts';
import type { NetworkingRequest } from './container-endpoints.ts';
import { parseMountRequests } from '../volumes/mount-spec.ts';
import { mergeHealthcheck } from './health-config.ts';
import { checkCreateSupport } from './create-support.ts';

/** The create body: container.Config plus HostConfig and NetworkingConfig. */
export interface CreateRequest extends Partial<ContainerConfig> {
  HostConfig?: HostConfigRequest | null;
  NetworkingConfig?: NetworkingRequest | null;
  MacAddress?: string;
}

/** A HostConfig as submitted: any field may be missing, the restart policy's too (the API schema checks types). */
export type HostConfigRequest = { [K in keyof HostConfig as K extends 'RestartPolicy' ? never : K]?: HostConfig[K] } & {
  RestartPolicy?: Partial<RestartPolicy>;
};

export interface ContainerSpec {
  config: ContainerConfig;
  hostConfig: HostConfig;
  path: string;
  args: string[];
}

const restartPolicies = ['', 'no', 'always', 'on-failure', 'unless-stopped'];
const namePattern = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$/;

export function validateName(name: string): void {
  if (!namePattern.test(name)) {
    throw new Fault('invalid-argument', `Invalid container name (${name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed`);
  }
}

/**
 * Merges the create request with the image config the way moby does (daemon/create.go, merge.go): the user's
 * Env overrides the image's by key, labels merge, and the image's Cmd is used only when the user gave neither
 * an Entrypoint nor a Cmd. Validates the host config with moby's messages.
 */
export function buildContainerSpec(request: CreateRequest, image: ImageConfig, options: { id: string }): ContainerSpec {
  checkCreateSupport(request);
  const imageConfig = image.config ?? {};
  const hostConfig = normalizeHostConfig(request.HostConfig ?? {});
  const userEntrypoint = request.Entrypoint ?? null;
  const userCmd = request.Cmd ?? null;
  let entrypoint = userEntrypoint;
  let cmd = userCmd;
  if (!userEntrypoint?.length) {
    if (!userCmd?.length) cmd = imageConfig.Cmd ?? null;
    if (userEntrypoint === null) entrypoint = imageConfig.Entrypoint ?? null;
  }
  // `--entrypoint ""` arrives as [""]: clear the image's entrypoint.
  const effectiveEntrypoint = entrypoint?.length === 1 && entrypoint[0] === '' ? [] : (entrypoint ?? []);
  const argv = [...effectiveEntrypoint, ...(cmd ?? [])];
  if (!argv.length) throw new Fault('invalid-argument', 'no command specified');
  const config: ContainerConfig = {
    Hostname: request.Hostname || options.id.slice(0, 12),
    Domainname: request.Domainname ?? '',
    User: request.User || imageConfig.User || '',
    AttachStdin: request.AttachStdin ?? false,
    AttachStdout: request.AttachStdout ?? false,
    AttachStderr: request.AttachStderr ?? false,
    ExposedPorts: mergeMaps(imageConfig.ExposedPorts, request.ExposedPorts) ?? undefined,
    Tty: request.Tty ?? false,
    OpenStdin: request.OpenStdin ?? false,
    StdinOnce: request.StdinOnce ?? false,
    Env: mergeEnv(imageConfig.Env ?? [], request.Env ?? []),
    Cmd: cmd,
    Image: request.Image ?? '',
    Volumes: mergeMaps(imageConfig.Volumes, request.Volumes),
    WorkingDir: request.WorkingDir || imageConfig.WorkingDir || '',
    Entrypoint: entrypoint,
    OnBuild: imageConfig.OnBuild ?? null,
    Labels: { ...imageConfig.Labels, ...request.Labels },
    ...(request.StopSignal || imageConfig.StopSignal ? { StopSignal: request.StopSignal || imageConfig.StopSignal } : {}),
    ...(request.StopTimeout !== undefined && request.StopTimeout !== null ? { StopTimeout: request.StopTimeout } : {}),
    ...(request.Shell?.length ? { Shell: request.Shell } : {}),
  };
  if (!config.ExposedPorts) delete config.ExposedPorts;
  const healthcheck = mergeHealthcheck(request.Healthcheck, imageConfig.Healthcheck);
  if (healthcheck) config.Healthcheck = healthcheck;
  if (config.StopSignal) parseSignal(config.StopSignal);
  validateHostConfig(hostConfig);
  return { config, hostConfig, path: argv[0], args: argv.slice(1) };
}

/** moby's ReplaceOrAppendEnvValues: later entries override earlier ones by key. */
export function mergeEnv(base: string[], overrides: string[]): string[] {
  const out = [...base];
  for (const entry of overrides) {
    const key = entry.split('=')[0];
    const index = out.findIndex((e) => e.split('=')[0] === key);
    if (index >= 0) out[index] = entry;
    else out.push(entry);
  }
  return out;
}

function mergeMaps<T extends object>(a: Record<string, T> | null | undefined, b: Record<string, T> | null | undefined): Record<string, T> | null {
  if (!a && !b) return null;
  return { ...a, ...b };
}

function normalizeHostConfig(input: HostConfigRequest): HostConfig {
  const policy = input.RestartPolicy ?? {};
  return {
    ...input,
    AutoRemove: input.AutoRemove ?? false,
    RestartPolicy: { Name: policy.Name ?? '', MaximumRetryCount: policy.MaximumRetryCount ?? 0 },
    NetworkMode: input.NetworkMode || 'default',
    Memory: input.Memory ?? 0,
    MemorySwap: input.MemorySwap ?? 0,
    NanoCpus: input.NanoCpus ?? 0,
    CpuShares: input.CpuShares ?? 0,
    CpuQuota: input.CpuQuota ?? 0,
    CpuPeriod: input.CpuPeriod ?? 0,
    PidsLimit: input.PidsLimit ?? null,
    BlkioWeight: input.BlkioWeight ?? 0,
    Privileged: input.Privileged ?? false,
    ReadonlyRootfs: input.ReadonlyRootfs ?? false,
    CapAdd: input.CapAdd ?? null,
    CapDrop: input.CapDrop ?? null,
    ConsoleSize: input.ConsoleSize ?? [0, 0],
    Binds: input.Binds ?? null,
    Mounts: input.Mounts ?? null,
    SecurityOpt: input.SecurityOpt ?? null,
    OomKillDisable: input.OomKillDisable ?? null,
    LogConfig: normalizeLogConfig(input.LogConfig as LogConfigInput | undefined),
  };
}

/**
 * moby daemon_unix.go verifyPlatformContainerResources: a limit the host cannot enforce is dropped with a
 * warning (the CLI prints each as `WARNING: …`), except `--cpus`, which is refused. Adjusts `host` in place.
 */
export function adaptToHost(host: Pick<HostConfig, 'Memory' | 'MemorySwap' | 'NanoCpus' | 'CpuPeriod' | 'CpuQuota' | 'PidsLimit' | 'BlkioWeight'>, support: ResourceSupport): string[] {
  const warnings: string[] = [];
  if (host.Memory > 0 && host.MemorySwap !== -1 && !support.swapLimit) {
    warnings.push('Your kernel does not support swap limit capabilities or the cgroup is not mounted. Memory limited without swap.');
    host.MemorySwap = -1;
  }
  if (host.NanoCpus > 0 && !support.cpuQuota) {
    throw new Fault('invalid-argument', 'NanoCPUs can not be set, as your kernel does not support CPU CFS scheduler or the cgroup is not mounted');
  }
  if ((host.CpuPeriod !== 0 || host.CpuQuota !== 0) && !support.cpuQuota) {
    warnings.push('Your kernel does not support CPU CFS scheduler. CPU period/quota discarded.');
    host.CpuPeriod = 0;
    host.CpuQuota = 0;
  }
  if (host.PidsLimit !== null && !support.pidsLimit) {
    if (host.PidsLimit > 0) warnings.push('Your kernel does not support PIDs limit capabilities or the cgroup is not mounted. PIDs limit discarded.');
    host.PidsLimit = null;
  }
  if (host.BlkioWeight > 0 && !support.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    host.BlkioWeight = 0;
  }
  return warnings;
}

/**
 * The mounts a container's record holds, for start and inspect. Records from before volumes kept only their
 * binds in HostConfig: those are parsed again (they held no volumes, which were refused then).
 */
export function recordMounts(record: { mounts?: MountPoint[]; hostConfig: Pick<HostConfig, 'Binds' | 'Mounts'> }): MountPoint[] {
  if (record.mounts) return record.mounts;
  return parseMountRequests(record.hostConfig).flatMap((m) =>
    m.type === 'bind'
      ? [{ Type: 'bind' as const, Source: m.source, Destination: m.destination, Mode: m.mode, RW: !m.readonly, Propagation: m.propagation ?? 'rprivate', CreateSource: m.createSource }]
      : [],
  );
}

/**
 * What the runtime mounts into the bundle: a volume is its data directory, bound like a host path. Parents before
 * children (moby's sortMounts), so `-v a:/data/sub -v b:/data` leaves /data/sub visible.
 */
export function bindMounts(mounts: readonly MountPoint[]): BindMount[] {
  const depth = (m: MountPoint) => m.Destination.split('/').length;
  return [...mounts]
    .sort((a, b) => depth(a) - depth(b))
    .map((m) => ({
      source: m.Source,
      destination: m.Destination,
      readonly: !m.RW,
      ...(m.Type === 'bind' && m.Propagation !== 'rprivate' ? { propagation: m.Propagation } : {}),
      ...(m.Type === 'tmpfs' ? { tmpfs: { options: m.TmpfsOptions ?? [] } } : {}),
    }));
}

/** moby's checks of the mount options before anything is created; what this engine lacks is refused by name. */
function validateMounts(host: HostConfig): void {
  // A 400, not moby's 404: the CLI answers a 404 from create by pulling the image, which hides the cause.
  const unknownDriver = (driver: string) => new Fault('invalid-argument', `error looking up volume plugin ${driver}: plugin "${driver}" not found`);
  if (host.VolumeDriver && host.VolumeDriver !== 'local') throw unknownDriver(host.VolumeDriver);
  for (const m of parseMountRequests(host)) {
    if (m.type === 'volume' && m.driver && m.driver !== 'local') throw unknownDriver(m.driver);
    if (m.type === 'bind' && !m.createSource && !existsSync(m.source)) {
      throw new Fault('invalid-argument', `invalid mount config for type "bind": bind source path does not exist: ${m.source}`);
    }
  }
}

export interface SecurityOptions {
  seccomp: 'default' | 'unconfined';
  noNewPrivileges: boolean;
}

/**
 * `--security-opt` as moby parses it (daemon/create.go parseSecurityOpt): `seccomp=unconfined`, `no-new-privileges`
 * (`=true|false`), and the old `key:value` spelling. A custom seccomp profile, AppArmor and SELinux labels are not
 * supported, and say so rather than run the container less confined than asked.
 */
export function parseSecurityOpt(options: readonly string[] | null | undefined): SecurityOptions {
  const out: SecurityOptions = { seccomp: 'default', noNewPrivileges: false };
  for (const option of options ?? []) {
    if (option === 'no-new-privileges') {
      out.noNewPrivileges = true;
      continue;
    }
    const match = /^([a-z-]+)[=:](.*)$/s.exec(option);
    if (!match) throw new Fault('invalid-argument', `invalid --security-opt 1: "${option}"`);
    const [, key, value] = match;
    if (key === 'no-new-privileges' && (value === 'true' || value === 'false')) out.noNewPrivileges = value === 'true';
    else if (key === 'no-new-privileges') throw new Fault('invalid-argument', 'invalid --security-opt 2: "no-new-privileges" must be a boolean');
    else if (key === 'seccomp' && value === 'unconfined') out.seccomp = 'unconfined';
    else if (key === 'seccomp' || key === 'apparmor' || key === 'label') {
      throw new Fault('invalid-argument', `--security-opt ${key}=… is not supported by this engine: only seccomp=unconfined and no-new-privileges`);
    } else throw new Fault('invalid-argument', `invalid --security-opt 2: "${option}"`);
  }
  return out;
}

/** moby daemon/container.go verifyContainerSettings + daemon_unix.go verifyPlatformContainerResources. */
function validateHostConfig(host: HostConfig): void {
  // The same CPU checks as `docker update`: a cpuset the host lacks is a 400 now, not a failed start later.
  verifyCpu({ NanoCpus: host.NanoCpus, CpuPeriod: host.CpuPeriod, CpuQuota: host.CpuQuota, CpusetCpus: (host.CpusetCpus as string | undefined) ?? '', CpusetMems: (host.CpusetMems as string | undefined) ?? '' });
  const policy = host.RestartPolicy;
  if (!restartPolicies.includes(policy.Name)) {
    throw new Fault(
      'invalid-argument',
      `invalid restart policy: unknown policy '${policy.Name}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'`,
    );
  }
  if (policy.MaximumRetryCount < 0) throw new Fault('invalid-argument', 'invalid restart policy: maximum retry count cannot be negative');
  if (policy.MaximumRetryCount > 0 && policy.Name !== 'on-failure') {
    throw new Fault('invalid-argument', `invalid restart policy: maximum retry count can only be used with 'on-failure'`);
  }
  if (host.AutoRemove && policy.Name !== '' && policy.Name !== 'no') {
    throw new Fault('invalid-argument', `can't create 'AutoRemove' container with restart policy`);
  }
  if (host.Memory < 0) throw new Fault('invalid-argument', 'invalid memory limit: it must not be negative');
  if (host.Memory > 0 && host.Memory < minMemory) throw new Fault('invalid-argument', 'Minimum memory limit allowed is 6MB');
  if (host.MemorySwap > 0 && host.Memory > 0 && host.MemorySwap < host.Memory) {
    throw new Fault('invalid-argument', 'Minimum memoryswap limit should be larger than memory limit, see usage');
  }
  if (host.NanoCpus < 0) throw new Fault('invalid-argument', 'invalid CPU limit: it must not be negative');
  if (host.CpuShares < 0) throw new Fault('invalid-argument', 'invalid CPU shares: it must not be negative');
  checkBlkioWeight(host.BlkioWeight);
  parseSecurityOpt(host.SecurityOpt);
  logSettings(host.LogConfig as LogConfigInput);
  validateMounts(host);
}
