import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Fault } from '../../base/fault.ts';
import { mountAll, unmount } from '../snapshots/mount.ts';
import { volumeNamePattern } from './volume-name.ts';
import type { VolumeDriver } from './volume-driver.ts';

const validOptions = ['type', 'device', 'o'];

/**
 * moby's `local` driver: `<dir>/<name>/_data`, a plain directory bound into containers, or with `type`, `device`
 * and `o` (`-o type=tmpfs,device=tmpfs,o=size=1m`, `-o type=none,device=/srv/x,o=bind`) what `mount -t type -o o
 * device` gives, mounted on `_data` while a container uses it (moby volume/local, refcounted by the service).
 */
export class LocalVolumeDriver implements VolumeDriver {
  readonly name = 'local';
  #dir: string;

  constructor(options: { dir: string }) {
    this.#dir = options.dir;
  }

  async create(name: string, options: Record<string, string>): Promise<void> {
    const unknown = Object.keys(options).filter((key) => !validOptions.includes(key));
    if (unknown.length) throw new Fault('invalid-argument', `create ${name}: invalid option key: ${JSON.stringify(unknown.sort()[0])}`);
    if (Object.keys(options).length && !options.type) throw new Fault('invalid-argument', `create ${name}: missing required option: "type"`);
    if (Object.keys(options).length && !options.device) throw new Fault('invalid-argument', `create ${name}: missing required option: "device"`);
    // moby: the volume directory is root-only, `_data` is world-readable so non-root container users can use it.
    await mkdir(join(this.#dir, name), { recursive: true, mode: 0o701 });
    await mkdir(this.path(name), { recursive: true, mode: 0o755 });
  }

  async mount(name: string, options: Record<string, string>): Promise<void> {
    if (!options.type) return;
    await mountAll([{ type: options.type, source: options.device, options: options.o ? options.o.split(',') : ['defaults'] }], this.path(name));
  }

  async unmount(name: string, options: Record<string, string>): Promise<void> {
    if (options.type) await unmount(this.path(name));
  }

  async remove(name: string): Promise<void> {
    // Never delete through a mount: with `type=none,o=bind` that would empty the host directory it shows.
    await unmount(this.path(name));
    await rm(join(this.#dir, name), { recursive: true, force: true });
  }

  path(name: string): string {
    return join(this.#dir, name, '_data');
  }

  async list(): Promise<string[]> {
    await mkdir(this.#dir, { recursive: true, mode: 0o701 });
    const entries = await readdir(this.#dir, { withFileTypes: true });
    return entries.filter((e) => e.isDirectory() && volumeNamePattern.test(e.name)).map((e) => e.name);
  }

  async size(name: string): Promise<number> {
    return directorySize(this.path(name)).catch(() => -1);
  }
}

/** Bytes of regular files under `dir`, hard links counted once (as `du` and moby's directory.Size). */
async function directorySize(dir: string, seen = new Set<string>()): Promise<number> {
  let total = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      total += await directorySize(path, seen);
      continue;
    }
    const st = await lstat(path);
    const key = `${st.dev}:${st.ino}`;
    if (seen.has(key)) continue;
    seen.add(key);
    total += st.size;
  }
  return total;
}
