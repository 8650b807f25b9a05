import { existsSync } from 'node:fs';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { resolveInRoot } from '../build/scoped-copy.ts';
import { mountAll, unmount } from '../snapshots/mount.ts';
import type { MountPoint } from '../volumes/mount-point.ts';
import { bindMounts } from './container-spec.ts';

/**
 * A stopped container's binds and volumes bound onto its root mounted beside it for the time of `work` (moby's
 * mountVolumes for archive operations): each destination resolved inside the root, parents before children,
 * read-only ones read-only, all unmounted in reverse on every exit path. `mounts` holds only what a plain bind can
 * show (no tmpfs, no volume the driver has to mount).
 */
export async function withMountsInRoot<T>(root: string, mounts: readonly MountPoint[], work: () => Promise<T>): Promise<T> {
  const done: string[] = [];
  try {
    for (const m of mounts) if (m.CreateSource && !existsSync(m.Source)) await mkdir(m.Source, { recursive: true });
    for (const m of bindMounts(mounts)) {
      const target = await resolveInRoot(root, m.destination);
      await makeMountPoint(target, (await stat(m.source)).isDirectory());
      await mountAll([{ type: 'bind', source: m.source, options: m.readonly ? ['ro'] : [] }], target);
      done.push(target);
    }
    return await work();
  } finally {
    for (const target of done.reverse()) await unmount(target);
  }
}

/** The destination as runc makes it: a directory for a directory, an empty file for a file. */
async function makeMountPoint(target: string, directory: boolean): Promise<void> {
  if (existsSync(target)) return;
  if (directory) return void (await mkdir(target, { recursive: true }));
  await mkdir(dirname(target), { recursive: true });
  await writeFile(target, '', { flag: 'a' });
}
