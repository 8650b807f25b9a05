import { readdirSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import type { ImageRuntimeConfig } from '../images/image-config.ts';
import { FilterProcess } from '../images/filter-process.ts';
import { withGoTarModes } from '../snapshots/go-tar-modes.ts';
import { mountAll, unmount } from '../snapshots/mount.ts';
import type { ContainerConfig } from './container-record.ts';
import type { MountPoint } from '../volumes/mount-point.ts';
import { withMountsInRoot } from './beside-mounts.ts';
import { runtimeOnlyPaths } from './container-changes.ts';
import { frozen, pause, unpause } from './container-pause.ts';
import { recordMounts } from './container-spec.ts';
import type { DaemonContext } from './daemon-context.ts';

/** How withRootfs shows a container: its root filesystem alone, or with its binds and volumes. */
export type RunningRootView = 'rootfs' | 'mounts';

export interface CommitOptions {
  repo?: string;
  tag?: string;
  comment?: string;
  author?: string;
  changes?: string[];
  pause?: boolean;
  /** Container config fields that replace the container's own in the image (the request body). */
  config?: Partial<ContainerConfig> | null;
  /** The image's runtime config as is, instead of the container's (the builder's accumulated config). */
  imageConfig?: ImageRuntimeConfig;
  /** The history line; default the container's command. */
  createdBy?: string;
  /** A build step's cache key: the image is kept as that step's result on the container's image (BuildCache). */
  buildKey?: string;
}

/**
 * The one place that gives a container's `/` as a host directory to `work` (export, cp, the builder's COPY),
 * under the container's lock, so a start cannot mount the same upper directory meanwhile. A stopped container's
 * filesystem is mounted beside it for the time of `work` (with `running: 'mounts'`, its binds and volumes bound
 * into it too, as moby's archive operations do); a running one is refused unless `running` names the view wanted:
 * its rootfs mount, or what its processes see (`/proc/<pid>/root`: binds and volumes included), with those
 * processes frozen meanwhile. `view.hidden` lists the container's mounts the directory does not show.
 */
export function withRootfs<T>(
  ctx: DaemonContext,
  input: string,
  work: (dir: string, view: RootView) => Promise<T>,
  options: { running?: 'refuse' | RunningRootView } = {},
): Promise<T> {
  const record = ctx.deps.store.resolve(input);
  return ctx.withLock(record.id, async () => {
    if (record.state.Running) {
      const init = ctx.live.get(record.id)?.process;
      if (!options.running || options.running === 'refuse' || !init) throw new Fault('conflict', `Container ${record.id} is running`);
      if (options.running === 'rootfs') return work(join(ctx.bundleDir(record.id), 'rootfs'), { hidden: recordMounts(record) });
      return frozen(ctx, record, () => work(`/proc/${init.pid}/root`, { hidden: [] }));
    }
    const onUnmountError = (err: unknown) => ctx.deps.logger.warn({ err, id: record.id }, 'unmounting a container filesystem failed');
    const mounts = recordMounts(record);
    if (options.running !== 'mounts') return mountBeside(ctx, record.id, record.snapshotKey, (dir) => work(dir, { hidden: mounts }), onUnmountError);
    const bindable = mounts.filter((m) => bindableStopped(ctx, m));
    const hidden = mounts.filter((m) => !bindable.includes(m));
    return mountBeside(ctx, record.id, record.snapshotKey, (dir) => withMountsInRoot(dir, bindable, () => work(dir, { hidden })), onUnmountError);
  });
}

/** What withRootfs gives `work` beside the directory: the container's mounts that directory does not show. */
export interface RootView {
  hidden: MountPoint[];
}

/**
 * A stopped container's mount a plain bind shows: a bind, or a volume whose data directory is its content. A
 * tmpfs has no content while stopped, and a volume with driver options (`-o type=…`) needs its driver's mount.
 */
function bindableStopped(ctx: DaemonContext, m: MountPoint): boolean {
  if (m.Type === 'bind') return true;
  if (m.Type !== 'volume' || !m.Name) return false;
  const volume = ctx.deps.volumes.list().find((v) => v.name === m.Name);
  return volume !== undefined && !volume.options.type;
}

/**
 * A container's snapshot mounted beside it (not running; also at create, for copy-up) for the time of `work`.
 * An unmount failure goes to `onUnmountError` if given, else it is thrown.
 */
export async function mountBeside<T>(ctx: DaemonContext, id: string, snapshotKey: string, work: (dir: string) => Promise<T>, onUnmountError?: (err: unknown) => void): Promise<T> {
  const target = join(ctx.deps.store.dirOf(id), 'mounted');
  await mkdir(target, { recursive: true });
  await mountAll(await ctx.deps.snapshotter.mounts(snapshotKey), target);
  try {
    return await work(target);
  } finally {
    await (onUnmountError ? unmount(target).catch(onUnmountError) : unmount(target));
  }
}

/** A stream `make` builds from the container's `/` (withRootfs), which stays held until the stream closes. */
export function streamFromRootfs(
  ctx: DaemonContext,
  input: string,
  make: (dir: string, view: RootView) => Promise<Readable>,
  options: { running: RunningRootView },
): Promise<Readable> {
  return new Promise<Readable>((resolve, reject) => {
    withRootfs(
      ctx,
      input,
      async (dir, view) => {
        const stream = await make(dir, view);
        resolve(stream);
        await new Promise((done) => stream.once('close', done));
      },
      options,
    ).catch(reject);
  });
}

/**
 * docker export: the container's whole filesystem as a tar: a running container's rootfs mount (without its
 * binds and volumes, as moby exports), a stopped one's mounted beside it for as long as the tar streams.
 */
export function exportRootfs(ctx: DaemonContext, input: string): Promise<Readable> {
  return streamFromRootfs(ctx, input, async (dir) => tarDirectory(dir), { running: 'rootfs' });
}

/**
 * docker commit: the container's filesystem changes become a new image layer. A running container is paused
 * while its changes are read (moby's default; `pause: false` reads them live). Request `config` fields override
 * the container's own, then `changes` (Dockerfile instructions) apply.
 */
export async function commit(ctx: DaemonContext, input: string, options: CommitOptions): Promise<string> {
  const record = ctx.deps.store.resolve(input);
  const paused = (options.pause ?? true) && record.state.Running && !record.state.Paused && (await pausedForCommit(ctx, record.id));
  try {
    const omit = runtimeOnlyPaths((await ctx.deps.snapshotter.changes?.(record.snapshotKey)) ?? []);
    const changes = await ctx.deps.snapshotter.diff(record.snapshotKey, { omit });
    const id = await ctx.deps.images.commit(
      changes,
      {
        imageId: record.imageId,
        containerId: record.id,
        config: options.imageConfig ?? committedConfig(record.config, options.config),
        createdBy: options.createdBy ?? [record.path, ...record.args].join(' '),
      },
      options,
    );
    ctx.event(record, 'commit', { comment: options.comment ?? '' });
    return id;
  } finally {
    if (paused) await unpause(ctx, record.id).catch((err) => ctx.deps.logger.warn({ err, id: record.id }, 'unpause after commit failed'));
  }
}

/**
 * moby daemon/commit.go ignores a failed pause: a container that exited a moment ago is still `running` until its
 * exit is recorded, and runc no longer knows it ("does not exist in runc"); its snapshot commits as it is.
 */
async function pausedForCommit(ctx: DaemonContext, id: string): Promise<boolean> {
  try {
    await pause(ctx, id);
    return true;
  } catch (err) {
    ctx.deps.logger.debug({ err, id }, 'commit goes on without pausing');
    return false;
  }
}

/** The image runtime config a commit records: the container's settings, request overrides first. */
function committedConfig(container: ContainerConfig, overrides: Partial<ContainerConfig> | null | undefined): ImageRuntimeConfig {
  const c = { ...container, ...Object.fromEntries(Object.entries(overrides ?? {}).filter(([, v]) => v !== undefined && v !== null && v !== '')) };
  return {
    User: c.User,
    Env: c.Env,
    Entrypoint: c.Entrypoint,
    Cmd: c.Cmd,
    WorkingDir: c.WorkingDir,
    Labels: c.Labels,
    ExposedPorts: c.ExposedPorts ?? null,
    Volumes: c.Volumes,
    OnBuild: c.OnBuild,
    ...(c.StopSignal ? { StopSignal: c.StopSignal } : {}),
    ...(c.Healthcheck ? { Healthcheck: c.Healthcheck } : {}),
    ...(c.Shell?.length ? { Shell: c.Shell } : {}),
  };
}

/** A tar of `dir`'s contents (names without a leading `./`, numeric owners), streamed from GNU tar. */
function tarDirectory(dir: string): Readable {
  const names = readdirSync(dir).sort();
  // --files-from=/dev/null: an empty rootfs makes an empty archive instead of tar's refusal. GNU tar's status 1
  // is "a file changed as we read it" (a running container): a warning, not a failure.
  const tar = new FilterProcess('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', '-', '--files-from=/dev/null', '--', ...names], {
    name: 'tar',
    okCodes: [0, 1],
    failure: 'unavailable',
  });
  tar.end();
  return withGoTarModes(tar);
}
