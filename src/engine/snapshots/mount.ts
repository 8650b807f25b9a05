/*
 * Performing the mounts a Snapshotter returns as data. Node has no mount(2) binding, so this goes through
 * mount(8)/umount(8); callers that care about latency batch (runc-runtime.ts mounts inside the shell that
 * runs runc). Only root can mount.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import { promisify } from 'node:util';
import { Fault } from '../../base/fault.ts';
import type { Mount } from './snapshotter.ts';

const run = promisify(execFile);

/**
 * The kernel copies mount options into one page; a long lowerdir chain beyond this is mounted with paths
 * relative to their common directory (mount(8) runs there), as containerd does.
 */
const maxOptionBytes = 3800;

/** mount(8) argv (without the target) and the directory to run it in for one mount. */
export function mountCommand(mount: Mount): { args: string[]; cwd?: string } {
  if (mount.type === 'bind') {
    const flags = mount.options.includes('rbind') ? ['--rbind'] : ['--bind'];
    return { args: [...flags, mount.source] };
  }
  const options = mount.options.join(',');
  if (mount.type !== 'overlay' || options.length <= maxOptionBytes) return { args: ['-t', mount.type, mount.source, '-o', options] };
  const dirs = mount.options.filter((o) => /^(lowerdir|upperdir|workdir)=/.test(o)).flatMap((o) => o.slice(o.indexOf('=') + 1).split(':'));
  const base = commonDir(dirs);
  const relative = (path: string) => (path.startsWith(base + sep) ? path.slice(base.length + 1) : path);
  const rewritten = mount.options.map((o) => {
    const match = /^(lowerdir|upperdir|workdir)=(.*)$/.exec(o);
    return match ? `${match[1]}=${match[2].split(':').map(relative).join(':')}` : o;
  });
  return { args: ['-t', mount.type, mount.source, '-o', rewritten.join(',')], cwd: base };
}

function commonDir(paths: string[]): string {
  const split = paths.map((p) => resolve(p).split(sep));
  const first = split[0] ?? [''];
  let n = 0;
  while (n < first.length && split.every((parts) => parts[n] === first[n])) n++;
  return first.slice(0, n).join(sep) || sep;
}

/** Mounts `mounts` in order on `target` (the last one is what the target shows). Bind mounts marked ro are remounted ro. */
export async function mountAll(mounts: readonly Mount[], target: string): Promise<void> {
  let mounted = false;
  try {
    for (const mount of mounts) {
      const { args, cwd } = mountCommand(mount);
      await run('mount', [...args, target], { cwd }).catch((err) => {
        throw new Fault('unavailable', `mount ${mount.type} on ${target} failed: ${String(err.stderr || err.message).trim()}`, { cause: err });
      });
      mounted = true;
      if (mount.type === 'bind' && mount.options.includes('ro')) {
        await run('mount', ['-o', 'remount,bind,ro', target]);
      }
    }
  } catch (err) {
    // unmount() peels every layer mounted on the target.
    if (mounted) await unmount(target);
    throw err;
  }
}

/** Unmounts `target` (lazily if busy). No-op when nothing is mounted there. */
export async function unmount(target: string): Promise<void> {
  const path = resolve(target);
  while ((await mountPoints()).includes(path)) {
    try {
      await run('umount', [path]);
    } catch {
      await run('umount', ['-l', path]).catch(() => undefined);
      if ((await mountPoints()).includes(path)) throw new Fault('unavailable', `cannot unmount ${path}`);
    }
  }
}

/** Mount points currently visible to this process (octal escapes of /proc/self/mountinfo decoded). */
export async function mountPoints(): Promise<string[]> {
  const text = await readFile('/proc/self/mountinfo', 'utf8');
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => line.split(' ')[4].replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8))));
}

export async function isMountPoint(target: string): Promise<boolean> {
  return (await mountPoints()).includes(resolve(target));
}

/**
 * Start-up cleanup: unmounts every mount point under `root` (deepest first), which a crashed engine can
 * leave behind. Returns the paths it unmounted.
 */
export async function unmountUnder(root: string): Promise<string[]> {
  const base = resolve(root);
  const stale = (await mountPoints()).filter((p) => p.startsWith(base + sep));
  const unique = [...new Set(stale)].sort((a, b) => b.length - a.length);
  for (const path of unique) await unmount(path);
  return unique;
}
