/*
 * Copying into a container's filesystem from the host, with every symlink resolved as the container would see it.
 * A base image is third-party data: `/app -> /etc` in it must not turn `COPY config /app/` into a write to the
 * host's /etc. Paths are walked component by component with `root` as `/` (moby's FollowSymlinkInScope), and a
 * symlink at the final component is replaced, never written through. The container is not running meanwhile
 * (ContainerManager.withRootfs), so nothing changes the tree under the walk.
 */
import { chmod, copyFile, lstat, mkdir, readdir, readlink, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Fault } from '../../base/fault.ts';

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

/** The host path for creating or replacing the final component of `path`: its parent resolved in `root`. */
async function entryInRoot(root: string, path: string): Promise<string> {
  const normal = posix.resolve('/', path);
  if (normal === '/') return root;
  return join(await resolveInRoot(root, posix.dirname(normal)), posix.basename(normal));
}

/**
 * Copies host file or directory `source` to container path `destination` (a directory's contents merge into
 * it). Modes and times are kept; owners become the engine's (root), as COPY without --chown does.
 */
export async function copyIntoRoot(source: string, root: string, destination: string): Promise<void> {
  const st = await lstat(source);
  if (st.isDirectory()) {
    const dir = await resolveInRoot(root, destination);
    const existing = await lstat(dir).catch(() => undefined);
    if (existing && !existing.isDirectory()) await rm(dir, { force: true });
    if (!existing?.isDirectory()) await mkdir(dir, { recursive: true });
    for (const name of await readdir(source)) await copyIntoRoot(join(source, name), root, posix.join(destination, name));
    await chmod(dir, st.mode & 0o7777);
    await utimes(dir, st.atime, st.mtime);
    return;
  }
  const entry = await entryInRoot(root, destination);
  await mkdir(posix.dirname(entry), { recursive: true });
  const existing = await lstat(entry).catch(() => undefined);
  if (existing?.isDirectory()) throw new Fault('invalid-argument', `cannot copy ${posix.basename(source)} over the directory ${destination}`);
  if (existing) await rm(entry, { force: true });
  if (st.isSymbolicLink()) {
    await symlink(await readlink(source), entry);
  } else if (st.isFile()) {
    await copyFile(source, entry);
    await chmod(entry, st.mode & 0o7777);
    await utimes(entry, st.atime, st.mtime);
  }
  // Devices, fifos and sockets in a build context are skipped, as the docker CLI never sends them.
}
