import type { ContainerRecord, ContainerState } from '../containers/container-record.ts';
import { zeroTime } from '../containers/container-record.ts';
import { recordMounts } from '../containers/container-spec.ts';
import { linkInspectEntry, parseLink } from '../containers/container-links.ts';
import { psPortsOf } from '../containers/container-ports.ts';
import { networkSettingsJson, networksJson } from './network-settings-json.ts';

/** go-units HumanDuration, which moby's `Status` strings are built from. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < 1) return 'Less than a second';
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.round(ms / 3_600_000);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.floor(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.floor(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24 / 30)} months`;
  return `${Math.floor(ms / 3_600_000 / 24 / 365)} years`;
}

/** moby container/state.go String(): `Up 2 seconds`, `Exited (0) 3 seconds ago`, `Created`, … */
export function statusText(state: ContainerState, now: number): string {
  const since = (iso: string) => humanDuration(Math.max(0, now - Date.parse(iso)));
  if (state.Status === 'removing') return 'Removal In Progress';
  if (state.Running) {
    if (state.Paused) return `Up ${since(state.StartedAt)} (Paused)`;
    if (state.Restarting) return `Restarting (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
    return `Up ${since(state.StartedAt)}${healthText(state)}`;
  }
  if (state.Dead) return 'Dead';
  if (state.StartedAt === zeroTime) return 'Created';
  if (state.FinishedAt === zeroTime) return '';
  return `Exited (${state.ExitCode}) ${since(state.FinishedAt)} ago`;
}

/** moby container.Health String(): ` (healthy)`, ` (unhealthy)`, ` (health: starting)`. */
function healthText(state: ContainerState): string {
  if (!state.Health) return '';
  return state.Health.Status === 'starting' ? ' (health: starting)' : ` (${state.Health.Status})`;
}

/** `docker ps` Command: moby's daemon/list.go joins path and args, single-quoting args that contain spaces. */
export function commandText(record: ContainerRecord): string {
  return [record.path, ...record.args.map((a) => (a.includes(' ') ? `'${a}'` : a))].join(' ');
}

export interface SummaryOptions {
  now: number;
  size?: { rw: number; rootFs: number };
}

/** One `GET /containers/json` item (ContainerSummary). */
export function containerSummary(record: ContainerRecord, options: SummaryOptions): Record<string, unknown> {
  return {
    Id: record.id,
    Names: [record.name],
    Image: record.config.Image,
    ImageID: record.imageId,
    Command: commandText(record),
    Created: Math.floor(Date.parse(record.created) / 1000),
    Ports: psPortsOf(record),
    ...(options.size ? { SizeRw: options.size.rw, SizeRootFs: options.size.rootFs } : {}),
    Labels: record.config.Labels ?? {},
    State: record.state.Status,
    Status: statusText(record.state, options.now),
    HostConfig: { NetworkMode: record.hostConfig.NetworkMode },
    NetworkSettings: { Networks: networksJson(record) },
    Mounts: mountPoints(record),
  };
}

/** moby's MountPoint for each bind and volume (`docker inspect -f '{{.Mounts}}'`, `ps --format '{{.Mounts}}'`). */
function mountPoints(record: ContainerRecord): Record<string, unknown>[] {
  let mounts: ReturnType<typeof recordMounts>;
  try {
    mounts = recordMounts(record);
  } catch {
    // A record from before binds were validated: listing containers must not fail on it.
    return [];
  }
  // moby lists `--mount type=tmpfs` but not `--tmpfs`, which stays in HostConfig.Tmpfs.
  const flagTmpfs = new Set(Object.keys(record.hostConfig.Tmpfs ?? {}).map((p) => p.replace(/(.)\/$/, '$1')));
  return mounts.filter((m) => m.Type !== 'tmpfs' || !flagTmpfs.has(m.Destination)).map((m) => ({
    Type: m.Type,
    ...(m.Type === 'volume' ? { Name: m.Name } : {}),
    Source: m.Source,
    Destination: m.Destination,
    ...(m.Type === 'volume' ? { Driver: m.Driver } : {}),
    Mode: m.Mode,
    RW: m.RW,
    Propagation: m.Propagation,
  }));
}

/** HostConfig.Links as moby shows them: `/linked:/me/alias`. */
function linksJson(record: ContainerRecord): string[] | null {
  const links = (record.hostConfig.Links as string[] | null | undefined) ?? [];
  if (!links.length) return null;
  return links.map((link) => {
    const { name, alias } = parseLink(link);
    return linkInspectEntry(name, record.name, alias);
  });
}

export interface InspectPaths {
  logPath: string;
  rootfs: { upper: string; work: string; lower: string; merged: string } | undefined;
  resolvConf: string;
  hostname: string;
  hosts: string;
}

/** `GET /containers/{id}/json` in moby's shape, every field typed as the Go structs decode it. */
export function containerInspect(record: ContainerRecord, paths: InspectPaths, execIds: string[]): Record<string, unknown> {
  return {
    Id: record.id,
    Created: record.created,
    Path: record.path,
    Args: record.args,
    State: { ...record.state },
    Image: record.imageId,
    ResolvConfPath: paths.resolvConf,
    HostnamePath: paths.hostname,
    HostsPath: paths.hosts,
    LogPath: paths.logPath,
    Name: record.name,
    RestartCount: record.restartCount,
    Driver: 'overlay2',
    Platform: 'linux',
    MountLabel: '',
    ProcessLabel: '',
    AppArmorProfile: '',
    ExecIDs: execIds.length ? execIds : null,
    HostConfig: { ...record.hostConfig, Links: linksJson(record) },
    GraphDriver: {
      Name: 'overlay2',
      Data: paths.rootfs
        ? { LowerDir: paths.rootfs.lower, MergedDir: paths.rootfs.merged, UpperDir: paths.rootfs.upper, WorkDir: paths.rootfs.work }
        : null,
    },
    Mounts: mountPoints(record),
    Config: record.config,
    NetworkSettings: networkSettingsJson(record),
  };
}
