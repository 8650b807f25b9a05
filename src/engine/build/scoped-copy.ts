/*
 * Copying into a container's filesystem from the host, with every symlink resolved as the container would see it.
 * A base image is third-party data: `/app -> /etc` in it must not turn `COPY config /app/` into a write to the
 * host's /etc. Paths are walked component by component with `root` as `/` (moby's FollowSymlinkInScope); the
 * destination itself is followed too (moby copies to where it points, inside the root). Below it, what is copied
 * replaces what was there unless both are directories (moby's untar), so a copied tree never goes through a
 * symlink of the image. The container is not running meanwhile (ContainerManager.withRootfs), so nothing changes
 * the tree under the walk.
 */
import { execFile } from 'node:child_process';
import { constants, type Stats } from 'node:fs';
import { chmod, chown, copyFile, lchown, link, lstat, lutimes, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { dirname, join, posix, relative } from 'node:path';
import { promisify } from 'node:util';
import { Fault } from '../../base/fault.ts';
import { deviceNumbers } from './source-hash.ts';

const run = promisify(execFile);

const maxLinks = 40;

/** The host path of container path `path` under `root`, every symlink (the last too) resolved inside `root`. */
export async function resolveInRoot(root: string, path: string): Promise<string> {
  const parts = posix.resolve('/', path).split('/').filter(Boolean);
  const done: string[] = [];
  let links = 0;
  while (parts.length) {
    const part = parts.shift()!;
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = join(root, ...done, part);
    const st = await lstat(host).catch(() => undefined);
    if (!st?.isSymbolicLink()) {
      done.push(part);
      continue;
    }
    if (++links > maxLinks) throw new Fault('invalid-argument', `too many levels of symbolic links in ${path}`);
    const target = await readlink(host);
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter((p) => p && p !== '.'));
  }
  return join(root, ...done);
}

export interface Owner {
  uid: number;
  gid: number;
}

export interface CopyIntoRootOptions {
  /** Owner of everything copied (default root, 0:0); 'keep' keeps the source's, as `COPY --from` without --chown. */
  owner?: Owner | 'keep';
  /** The mode of every file and directory copied instead of the source's (`--chmod`). */
  mode?: number;
}

/**
 * Copies host file or directory `source` to container path `destination`, the path it becomes (a directory's
 * contents merge into it). Modes and mtimes are the source's; owners as `options.owner`. A directory that
 * existed keeps its own mode and owner, as moby's tar copy has no entry for it.
 */
export async function copyIntoRoot(source: string, root: string, destination: string, options: CopyIntoRootOptions = {}): Promise<void> {
  const st = await lstat(source);
  const target = await resolveInRoot(root, destination);
  const owner = options.owner === 'keep' ? undefined : (options.owner ?? { uid: 0, gid: 0 });
  const copy: TreeCopy = { options, copies: new Map() };
  if (!st.isDirectory()) {
    await makeDirs(dirname(target), owner);
    await placeEntry(source, st, target, copy);
    return;
  }
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !existing.isDirectory()) await rm(target, { force: true });
  if (!existing?.isDirectory()) {
    await makeDirs(dirname(target));
    await mkdir(target, { mode: 0o755 });
    await chown(target, owner?.uid ?? 0, owner?.gid ?? 0);
    await chmod(target, options.mode ?? 0o755);
  }
  await copyChildren(source, target, copy);
}

/** One copy's options, and where each multiply linked file went (moby's tar keeps hardlinks within a tree). */
interface TreeCopy {
  options: CopyIntoRootOptions;
  copies: Map<string, string>;
}

/**
 * Makes `dir` and its missing parents (0755); the new ones get `owner` (moby's MkdirAllAndChown with OnlyNew),
 * or root's.
 */
export async function makeDirs(dir: string, owner?: Owner): Promise<void> {
  const first = await mkdir(dir, { recursive: true, mode: 0o755 });
  if (!first || !owner) return;
  const made = relative(first, dir).split('/').filter(Boolean);
  for (let i = 0; i <= made.length; i++) await chown(join(first, ...made.slice(0, i)), owner.uid, owner.gid);
}

async function copyChildren(source: string, target: string, copy: TreeCopy): Promise<void> {
  for (const name of (await readdir(source)).sort()) {
    const from = join(source, name);
    await placeEntry(from, await lstat(from), join(target, name), copy);
  }
}

/** Puts host entry `source` at host path `target` (whose parent is a real directory), replacing what was there. */
async function placeEntry(source: string, st: Stats, target: string, copy: TreeCopy): Promise<void> {
  const { options } = copy;
  const existing = await lstat(target).catch(() => undefined);
  if (existing && !(existing.isDirectory() && st.isDirectory())) await rm(target, { recursive: true, force: true });
  const inode = `${st.dev}:${st.ino}`;
  const linked = st.isFile() && st.nlink > 1 ? copy.copies.get(inode) : undefined;
  if (linked) {
    await link(linked, target);
    return; // the same inode: its owner, mode and times are set already
  }
  if (st.isDirectory()) {
    if (!existing?.isDirectory()) await mkdir(target, { mode: 0o700 });
    await copyChildren(source, target, copy);
  } else if (st.isFile()) {
    await copyFile(source, target, constants.COPYFILE_EXCL);
    if (st.nlink > 1) copy.copies.set(inode, target);
  } else if (st.isSymbolicLink()) {
    await symlink(await readlink(source), target);
  } else if (st.isFIFO() || st.isCharacterDevice() || st.isBlockDevice()) {
    await makeSpecial(target, st.isFIFO() ? 'fifo' : st.isBlockDevice() ? 'block' : 'char', st.mode & 0o7777, deviceNumbers(st.rdev));
  } else {
    return; // a socket: tar (and so moby's copy) has no entry type for it
  }
  const owner = options.owner === 'keep' ? st : (options.owner ?? { uid: 0, gid: 0 });
  await setAttributes(target, { uid: owner.uid, gid: owner.gid, mode: options.mode ?? st.mode & 0o7777, mtime: wholeSeconds(st.mtime), symlink: st.isSymbolicLink() });
}

/** moby copies through a tar header, whose mtime it truncates to the second. */
function wholeSeconds(time: Date): Date {
  return new Date(Math.floor(time.getTime() / 1000) * 1000);
}

export interface EntryAttributes extends Owner {
  mode: number;
  mtime: Date;
  symlink: boolean;
}

/** Owner, then mode (a chown clears setuid), then times; a symlink's own, and it has no mode of its own. */
export async function setAttributes(path: string, attrs: EntryAttributes): Promise<void> {
  await lchown(path, attrs.uid, attrs.gid);
  if (attrs.symlink) {
    await lutimes(path, attrs.mtime, attrs.mtime);
    return;
  }
  await chmod(path, attrs.mode);
  await utimes(path, attrs.mtime, attrs.mtime);
}

/** A fifo or device node, made as a layer or a copy brings it (root may; Node has no mknod). */
export async function makeSpecial(path: string, kind: 'fifo' | 'char' | 'block', mode: number, [major, minor]: [number, number]): Promise<void> {
  const type = kind === 'fifo' ? ['p'] : [kind === 'block' ? 'b' : 'c', String(major), String(minor)];
  await run('mknod', ['-m', mode.toString(8), path, ...type]).catch((err: unknown) => {
    throw new Fault('invalid-argument', `cannot make the ${kind} ${path}: ${(err as { stderr?: string }).stderr?.trim() || (err as Error).message}`, { cause: err });
  });
}
