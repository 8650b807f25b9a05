import { readdir } from 'node:fs/promises';
import { Fault, isFault } from '../../base/fault.ts';
import type { Logger } from '../../base/log.ts';
import { copyUp } from './copy-up.ts';
import { imageVolumeRequests, type MountRequest, type TmpfsRequest, type VolumeRequest } from './mount-spec.ts';
import type { MountPoint } from './mount-point.ts';
import type { VolumeService } from './volume-service.ts';

export interface AcquireMountsOptions {
  containerId: string;
  /** `-v`, `--mount` and `--tmpfs`, parsed. */
  requests: MountRequest[];
  /** Mounts inherited with `--volumes-from`, already in their final mode. */
  inherited: MountPoint[];
  /** The image's (and request's) VOLUME paths. */
  imageVolumes: Record<string, unknown> | null | undefined;
  /** Runs `work` with the container's rootfs mounted (for copy-up); only called when a volume needs seeding. */
  withRootfs: (work: (dir: string) => Promise<void>) => Promise<void>;
}

/**
 * Resolves what a container mounts at create (moby daemon/volumes.go registerMountPoints): its own mounts
 * first, then `--volumes-from` where no own mount has the path, then the image's VOLUMEs as anonymous volumes.
 * Named volumes are created on first use; every volume is held for the container until `endHolds`. On failure
 * the anonymous volumes made here are removed again.
 */
export async function acquireMounts(volumes: VolumeService, options: AcquireMountsOptions): Promise<MountPoint[]> {
  const taken = new Set(options.requests.map((r) => r.destination));
  const inherited = options.inherited.filter((m) => !taken.has(m.Destination));
  for (const m of inherited) taken.add(m.Destination);
  const requests = [...options.requests, ...imageVolumeRequests(options.imageVolumes, taken)];
  const out: MountPoint[] = [...inherited];
  const seed: Seed[] = [];
  try {
    for (const m of inherited) if (m.Name) volumes.hold(m.Name, options.containerId);
    for (const request of requests) {
      if (request.type !== 'volume') {
        out.push(request.type === 'bind' ? bindPoint(request) : tmpfsPoint(request));
        continue;
      }
      const point = await volumePoint(volumes, request, options.containerId);
      out.push(point);
      if (!request.nocopy) seed.push({ name: point.Name ?? '', destination: point.Destination, dir: point.Source });
    }
    await seedVolumes(volumes, seed, options);
    return out;
  } catch (err) {
    for (const m of out) if (m.Name) volumes.release(m.Name, options.containerId);
    await removeAnonymous(volumes, out.filter((m) => !inherited.includes(m)));
    throw err;
  }
}

interface Seed {
  name: string;
  destination: string;
  dir: string;
}

/** Copy-up into the volumes that are empty, each mounted as a container would see it meanwhile. */
async function seedVolumes(volumes: VolumeService, seed: Seed[], options: AcquireMountsOptions): Promise<void> {
  if (!seed.length) return;
  const names = seed.map((s) => s.name);
  await volumes.mountFor(options.containerId, names);
  try {
    const empty: Seed[] = [];
    for (const s of seed) if ((await readdir(s.dir)).length === 0) empty.push(s);
    if (empty.length) await options.withRootfs(async (rootfs) => {
      for (const { destination, dir } of empty) await copyUp(rootfs, destination, dir);
    });
  } finally {
    await volumes.unmountFor(options.containerId, names);
  }
}

/** The names of the volumes among `mounts` (what a start mounts and an exit unmounts). */
export function volumeNames(mounts: readonly MountPoint[]): string[] {
  return mounts.flatMap((m) => (m.Name ? [m.Name] : []));
}

async function volumePoint(volumes: VolumeService, request: VolumeRequest, containerId: string): Promise<MountPoint> {
  const record = await volumes.create({
    name: request.name,
    anonymous: !request.name,
    ...(request.name ? {} : { pendingFor: containerId }),
    driver: request.driver,
    labels: request.labels,
    options: request.driverOptions,
    holdFor: containerId,
  });
  return {
    Type: 'volume',
    Name: record.name,
    Source: volumes.mountpoint(record.name),
    Destination: request.destination,
    Driver: record.driver,
    Mode: request.mode,
    RW: !request.readonly,
    Propagation: '',
  };
}

function tmpfsPoint(request: TmpfsRequest): MountPoint {
  return { Type: 'tmpfs', Source: '', Destination: request.destination, Mode: '', RW: !request.readonly, Propagation: '', TmpfsOptions: request.options };
}

function bindPoint(request: Extract<MountRequest, { type: 'bind' }>): MountPoint {
  return {
    Type: 'bind',
    Source: request.source,
    Destination: request.destination,
    Mode: request.mode,
    RW: !request.readonly,
    Propagation: request.propagation ?? 'rprivate',
    ...(request.createSource ? { CreateSource: true } : {}),
  };
}

/** The container's record now names its volumes: the create-time holds can go, its new volumes are confirmed. */
export function endHolds(volumes: VolumeService, mounts: readonly MountPoint[], containerId: string): void {
  for (const m of mounts) {
    if (!m.Name) continue;
    volumes.release(m.Name, containerId);
    volumes.confirm(m.Name);
  }
}

/**
 * `docker rm -v`, `--rm`: the container's anonymous volumes go, named ones stay; one still used by another
 * container (shared with `--volumes-from`) stays too, as moby keeps it.
 */
export async function removeAnonymous(volumes: VolumeService, mounts: readonly MountPoint[], logger?: Logger): Promise<void> {
  for (const m of mounts) {
    if (!m.Name || !volumes.list().some((v) => v.name === m.Name && v.anonymous)) continue;
    await volumes.remove(m.Name).catch((err) => logger?.warn({ err, volume: m.Name }, 'anonymous volume kept'));
  }
}

/**
 * `--volumes-from CONTAINER[:ro|:rw]`: that container's volumes and binds, same paths; a mode overrides theirs
 * (moby daemon/volumes.go parseVolumesFrom).
 */
export function inheritMounts(specs: readonly string[], mountsOf: (container: string) => MountPoint[]): MountPoint[] {
  const out: MountPoint[] = [];
  for (const spec of specs) {
    const [container, mode, ...rest] = spec.split(':');
    if (!container || rest.length || (mode !== undefined && mode !== 'ro' && mode !== 'rw')) {
      throw new Fault('invalid-argument', `invalid mode for volumes-from: ${spec.slice(container.length + 1) || spec}`);
    }
    for (const m of sourceMounts(container, mountsOf).filter((p) => p.Type !== 'tmpfs')) {
      out.push(mode ? { ...m, RW: mode === 'rw', Mode: m.Mode.replace(/\b(ro|rw)\b/, mode) || mode } : m);
    }
  }
  return out;
}

/** A missing source container is a 400: the CLI answers a 404 from create by pulling the image, hiding the cause. */
function sourceMounts(container: string, mountsOf: (container: string) => MountPoint[]): MountPoint[] {
  try {
    return mountsOf(container);
  } catch (err) {
    if (isFault(err, 'not-found')) throw new Fault('invalid-argument', err.message, { cause: err });
    throw err;
  }
}
