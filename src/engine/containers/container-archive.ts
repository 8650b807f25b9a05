/*
 * docker cp's archive API (moby daemon/archive.go): stat a container path, tar it out, extract a tar under it.
 * Every container path is resolved with the container's root as `/` (resolveInRoot, the builder's COPY walk), so
 * `/evil -> /` or `../..` in the container stays inside it; the tar going out is made by GNU tar, which never
 * follows a symlink below the resolved path, and the one coming in goes through the layer applier, which refuses
 * `..`, never writes through a symlink and keeps hardlinks inside the destination.
 */
import { lstat, readFile } from 'node:fs/promises';
import { posix, relative } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Stats } from 'node:fs';
import { untarFault } from '../../base/archive-fault.ts';
import { Fault, isFault } from '../../base/fault.ts';
import { resolveInRoot } from '../build/scoped-copy.ts';
import { FilterProcess } from '../images/filter-process.ts';
import { withGoTarModes } from '../snapshots/go-tar-modes.ts';
import { decompressStream } from '../images/layer-compression.ts';
import { applyLayerTar } from '../snapshots/layer-apply.ts';
import { resolveUser } from './bundle-files.ts';
import type { ContainerManager } from './container-manager.ts';
import type { ContainerRecord } from './container-record.ts';
import type { MountPoint } from '../volumes/mount-point.ts';
import { recordMounts } from './container-spec.ts';

/** moby's container.PathStat, as the X-Docker-Container-Path-Stat header carries it. */
export interface PathStat {
  name: string;
  size: number;
  /** Go's os.FileMode bits. */
  mode: number;
  mtime: string;
  linkTarget: string;
}

export interface ExtractOptions {
  noOverwriteDirNonDir: boolean;
  copyUIDGID: boolean;
}

/** A container path split the way moby's archive code sees it, resolved on the host under `root`. */
interface Located {
  /** The path as moby normalises it (`/` joined, a trailing `/` or `/.` kept). */
  path: string;
  host: string;
  st: Stats;
}

export class ContainerArchive {
  #containers: ContainerManager;

  constructor(containers: ContainerManager) {
    this.#containers = containers;
  }

  /** HEAD: the stat of `path` (its last component not followed, as lstat). */
  stat(container: string, path: string): Promise<PathStat> {
    return this.#containers.withRootfs(
      container,
      async (root, view) => pathStat(root, await this.#locate({ root, hidden: view.hidden }, path, container)),
      { running: 'mounts' },
    );
  }

  /** GET: the stat, and a tar of `path` named after its basename (`/.` at the end: its contents). */
  async read(container: string, path: string): Promise<{ stat: PathStat; tar: Readable }> {
    let stat: PathStat | undefined;
    const tar = await this.#containers.streamFromRootfs(
      container,
      async (root, view) => {
        const located = await this.#locate({ root, hidden: view.hidden }, path, container);
        stat = await pathStat(root, located);
        return tarOf(located, stat.name, located.host === followRoot(root, root));
      },
      { running: 'mounts' },
    );
    return { stat: stat!, tar };
  }

  /** PUT: extracts `tar` (plain or compressed) into the existing directory `path`. */
  extract(container: string, path: string, tar: Readable, options: ExtractOptions): Promise<void> {
    const record = this.#containers.store.resolve(container);
    return this.#containers.withRootfs(
      container,
      async (root, view) => {
        // A vanished link on the way (readlink's ENOENT) is a missing path, as a missing directory is.
        const resolved = await resolveInRoot(root, posix.join('/', path)).catch((err: unknown) => (isFault(err) ? Promise.reject(err) : undefined));
        const dir = resolved === undefined ? undefined : followRoot(root, resolved);
        const st = dir === undefined ? undefined : await lstat(dir).catch(() => undefined);
        if (!dir || !st) throw notFound(path, container);
        refuseHiddenPath(record, view.hidden, root, dir);
        if (!st.isDirectory()) throw new Fault('invalid-argument', 'extraction point is not a directory');
        const into = mountHolding(recordMounts(record), root, dir);
        if (into && !into.RW) throw new Fault('invalid-argument', 'mounted volume is marked read-only');
        if (!into && record.hostConfig.ReadonlyRootfs) throw new Fault('invalid-argument', 'container rootfs is marked read-only');
        const owner = options.copyUIDGID && record.config.User ? await containerUser(root, record.config.User) : undefined;
        const plain = decompressStream();
        const feeding = pipeline(tar, plain);
        feeding.catch(() => undefined);
        try {
          await applyLayerTar(plain, { root: dir, lowers: [], owner, noOverwriteDirNonDir: options.noOverwriteDirNonDir });
          await feeding;
        } catch (err) {
          throw untarFault(err);
        }
      },
      { running: 'mounts' },
    );
  }

  async #locate(at: { root: string; hidden: readonly MountPoint[] }, path: string, container: string): Promise<Located> {
    const located = await locate(at.root, path, container);
    refuseHiddenPath(this.#containers.store.resolve(container), at.hidden, at.root, located.host);
    return located;
  }
}

/**
 * A stopped container's tmpfs and volumes with driver options are not shown in its mounted-beside root: a path in
 * one of them would read or write the layer hidden under it, so it is refused rather than copied to the wrong place.
 */
function refuseHiddenPath(record: ContainerRecord, hidden: readonly MountPoint[], root: string, host: string): void {
  const path = posix.join('/', relative(root, host));
  const mount = mountHolding(hidden, root, host);
  if (mount) {
    const what = mount.Type === 'volume' ? `volume ${mount.Name}, which has driver options,` : mount.Type;
    throw new Fault('not-implemented', `${path} is in the ${what} mounted at ${mount.Destination}: docker cp reaches it in running containers only, start ${record.name.slice(1)} first`);
  }
}

/** The innermost of `mounts` that container path of `host` is in (moby's volume lookup for archive paths). */
function mountHolding(mounts: readonly MountPoint[], root: string, host: string): MountPoint | undefined {
  const path = posix.join('/', relative(root, host));
  const holds = (m: MountPoint) => path === m.Destination || path.startsWith(`${m.Destination.replace(/\/$/, '')}/`);
  return mounts.filter(holds).sort((a, b) => b.Destination.length - a.Destination.length)[0];
}

function notFound(path: string, container: string): Fault {
  return new Fault('not-found', `Could not find the file ${path} in container ${container}`);
}

/**
 * moby: the parents are resolved with symlinks followed inside the root, the last component only when the path
 * ends in `/` or `/.` (lstat of `link/` follows the link).
 */
async function locate(root: string, input: string, container: string): Promise<Located> {
  const normal = posix.join('/', input);
  const trailing = /\/\.$/.test(input) ? '/.' : input.endsWith('/') && normal !== '/' ? '/' : '';
  const path = normal === '/' ? '/' : `${normal}${trailing}`;
  // A link that vanishes under the walk (procfs's `self` names a process the container cannot see) is not found too.
  const missing = (err: NodeJS.ErrnoException): never => {
    throw err.code === 'ENOENT' || err.code === 'ENOTDIR' ? notFound(input, container) : err;
  };
  const resolved = trailing || normal === '/' ? resolveInRoot(root, normal) : resolveInRoot(root, posix.dirname(normal)).then((dir) => posix.join(dir, posix.basename(normal)));
  const host = followRoot(root, await resolved.catch(missing));
  const st = await lstat(host).catch(missing);
  if (trailing && !st.isDirectory()) throw new Fault('invalid-argument', `${input}: not a directory`);
  return { path, host, st };
}

/** A running container's root is the magic link /proc/<pid>/root: with a trailing `/`, lstat and tar go through it. */
function followRoot(root: string, host: string): string {
  return host === root ? `${root}/` : host;
}

async function pathStat(root: string, { path, st }: Located): Promise<PathStat> {
  const linkTarget = st.isSymbolicLink() ? posix.join('/', relative(root, await resolveInRoot(root, path))) : '';
  return { name: path === '/' ? '/' : posix.basename(path), size: st.size, mode: goFileMode(st), mtime: st.mtime.toISOString(), linkTarget };
}

/** Go's os.FileMode for a stat: the permission bits, then its type and special bits in Go's places. */
export function goFileMode(st: Stats): number {
  let mode = st.mode & 0o777;
  if (st.mode & 0o4000) mode |= 1 << 23;
  if (st.mode & 0o2000) mode |= 1 << 22;
  if (st.mode & 0o1000) mode |= 1 << 20;
  if (st.isDirectory()) mode |= 1 << 31;
  else if (st.isSymbolicLink()) mode |= 1 << 27;
  else if (st.isBlockDevice()) mode |= 1 << 26;
  else if (st.isCharacterDevice()) mode |= (1 << 26) | (1 << 21);
  else if (st.isFIFO()) mode |= 1 << 25;
  else if (st.isSocket()) mode |= 1 << 24;
  return mode >>> 0;
}

/**
 * The tar of a located path, its root entry named `name` (moby's TarResourceRebaseOpts): a directory's contents
 * under `name/` (`./` for `/.`), anything else as one entry. GNU tar adds no symlink it meets below the path.
 */
function tarOf({ host, st }: Located, name: string, containerRoot: boolean): Readable {
  const dir = st.isDirectory() ? host : posix.dirname(host);
  const member = st.isDirectory() ? '.' : posix.basename(host);
  const rename = st.isDirectory() && name !== '/' && name !== '.' ? [`--transform=s,^\\.,${escapeReplacement(name)},S`] : [];
  // The kernel's views a running container has mounted (moby's copy of `/` shows those mount points empty).
  const kernelViews = containerRoot ? ['--anchored', '--exclude=./proc/*', '--exclude=./sys/*'] : [];
  const tar = new FilterProcess('tar', ['--numeric-owner', '--sort=name', '-C', dir, '-cf', '-', ...kernelViews, ...rename, '--', member], {
    name: 'tar',
    okCodes: [0, 1],
    failure: 'unavailable',
  });
  tar.end();
  return withGoTarModes(tar);
}

function escapeReplacement(text: string): string {
  return text.replace(/[\\&]/g, '\\$&').replaceAll(',', '\\,');
}

/** The container's USER as uid/gid from its own /etc/passwd and /etc/group (read inside the root). */
async function containerUser(root: string, spec: string): Promise<{ uid: number; gid: number }> {
  const read = async (path: string) => {
    const file = await resolveInRoot(root, path);
    const st = await lstat(file).catch(() => undefined);
    return st?.isFile() && st.size < 4 << 20 ? readFile(file, 'utf8') : undefined;
  };
  try {
    const { uid, gid } = await resolveUser(read, spec);
    return { uid, gid };
  } catch (err) {
    throw isFault(err) ? err : new Fault('unavailable', `resolving user ${spec}: ${(err as Error).message}`, { cause: err });
  }
}
