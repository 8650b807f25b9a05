/*
 * INTERIM — owned by the engine upper half only until src/engine/snapshots/overlay-snapshotter.ts (the lower
 * half's OverlaySnapshotter) lands; engine.ts prefers that module when it exists. Delete this file then.
 * Kept deliberately small: overlay mounts as data, layers applied through a temporary mount of the snapshot
 * (so the kernel writes whiteouts), no diff().
 */
import { execFile } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { chmod, chown, lchown, link, lstat, mkdir, mkdtemp, readdir, rm, rmdir, symlink, utimes } from 'node:fs/promises';
import { dirname, join, normalize } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { extract } from 'tar-stream';
import { Fault } from '../../base/fault.ts';
import type { Mount, SnapshotInfo, SnapshotKind, Snapshotter } from '../snapshots/snapshotter.ts';

const run = promisify(execFile);

interface Meta {
  id: number;
  parent?: string;
  kind: SnapshotKind;
  createdAt: string;
}

export class InterimOverlaySnapshotter implements Snapshotter {
  #root: string;
  #meta: { next: number; snapshots: Record<string, Meta> };

  constructor(options: { root: string }) {
    this.#root = options.root;
    mkdirSync(join(this.#root, 'snapshots'), { recursive: true });
    const file = join(this.#root, 'metadata.json');
    this.#meta = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { next: 1, snapshots: {} };
  }

  #save(): void {
    const file = join(this.#root, 'metadata.json');
    writeFileSync(`${file}.tmp`, JSON.stringify(this.#meta));
    renameSync(`${file}.tmp`, file);
  }

  #dir(key: string): string {
    const meta = this.#meta.snapshots[key];
    if (!meta) throw new Fault('not-found', `snapshot ${key} not found`);
    return join(this.#root, 'snapshots', String(meta.id));
  }

  #chain(key: string | undefined): string[] {
    const out: string[] = [];
    for (let k = key; k; k = this.#meta.snapshots[k]?.parent) out.push(join(this.#dir(k), 'fs'));
    return out;
  }

  async #create(key: string, parent: string | undefined, kind: SnapshotKind): Promise<Mount[]> {
    if (this.#meta.snapshots[key]) throw new Fault('already-exists', `snapshot ${key} already exists`);
    if (parent && this.#meta.snapshots[parent]?.kind !== 'committed') throw new Fault('not-found', `parent snapshot ${parent} not found`);
    const id = this.#meta.next++;
    const dir = join(this.#root, 'snapshots', String(id));
    await mkdir(join(dir, 'fs'), { recursive: true });
    await mkdir(join(dir, 'work'), { recursive: true });
    this.#meta.snapshots[key] = { id, parent, kind, createdAt: new Date().toISOString() };
    this.#save();
    return this.mounts(key);
  }

  prepare(key: string, parent?: string): Promise<Mount[]> {
    return this.#create(key, parent, 'active');
  }

  view(key: string, parent: string): Promise<Mount[]> {
    return this.#create(key, parent, 'view');
  }

  async mounts(key: string): Promise<Mount[]> {
    const meta = this.#meta.snapshots[key];
    if (!meta) throw new Fault('not-found', `snapshot ${key} not found`);
    const dir = this.#dir(key);
    const lowers = this.#chain(meta.parent);
    if (meta.kind === 'view') {
      if (lowers.length === 1) return [{ type: 'bind', source: lowers[0], options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (!lowers.length) return [{ type: 'bind', source: join(dir, 'fs'), options: ['rw', 'rbind'] }];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        options: [`index=off`, `workdir=${join(dir, 'work')}`, `upperdir=${join(dir, 'fs')}`, `lowerdir=${lowers.join(':')}`],
      },
    ];
  }

  async commit(name: string, key: string): Promise<void> {
    const meta = this.#meta.snapshots[key];
    if (meta?.kind !== 'active') throw new Fault('not-found', `active snapshot ${key} not found`);
    if (this.#meta.snapshots[name]) throw new Fault('already-exists', `snapshot ${name} already exists`);
    delete this.#meta.snapshots[key];
    this.#meta.snapshots[name] = { ...meta, kind: 'committed' };
    this.#save();
  }

  async remove(key: string): Promise<void> {
    const meta = this.#meta.snapshots[key];
    if (!meta) throw new Fault('not-found', `snapshot ${key} not found`);
    if (Object.values(this.#meta.snapshots).some((m) => m.parent === key)) {
      throw new Fault('failed-precondition', `cannot remove snapshot ${key}: it has children`);
    }
    const dir = this.#dir(key);
    delete this.#meta.snapshots[key];
    this.#save();
    await rm(dir, { recursive: true, force: true });
  }

  async stat(key: string): Promise<SnapshotInfo | undefined> {
    const meta = this.#meta.snapshots[key];
    return meta ? { key, parent: meta.parent, kind: meta.kind, createdAt: meta.createdAt } : undefined;
  }

  async *walk(): AsyncIterable<SnapshotInfo> {
    for (const [key, meta] of Object.entries(this.#meta.snapshots)) yield { key, parent: meta.parent, kind: meta.kind, createdAt: meta.createdAt };
  }

  async applyLayer(key: string, tar: Readable): Promise<{ size: number }> {
    const [mount] = await this.mounts(key);
    if (mount.type === 'bind') return extractLayer(mount.source, tar);
    const target = await mkdtemp(join(this.#root, 'apply-'));
    await mountAt(mount, target);
    try {
      return await extractLayer(target, tar);
    } finally {
      await run('umount', [target]).catch(() => run('umount', ['-l', target]));
      await rmdir(target).catch(() => undefined);
    }
  }

  async diff(): Promise<Readable> {
    throw new Fault('not-implemented', 'diff is not implemented by the interim snapshotter');
  }
}

export async function mountAt(mount: Mount, target: string): Promise<void> {
  const options = mount.options.join(',');
  if (mount.type === 'bind') await run('mount', ['--bind', mount.source, target]);
  else await run('mount', ['-t', mount.type, mount.source, '-o', options, target]);
}

/** Extracts a layer tar into `root`, applying OCI whiteouts (`.wh.x` deletes x, `.wh..wh..opq` empties a dir). */
async function extractLayer(root: string, tar: Readable): Promise<{ size: number }> {
  const extractor = extract();
  let size = 0;
  const written = new Set<string>();
  const dirTimes: [string, Date][] = [];
  const consume = (async () => {
    for await (const entry of extractor as AsyncIterable<TarEntry>) {
      const rel = safePath(entry.header.name);
      if (!rel) {
        entry.resume();
        continue;
      }
      const target = join(root, rel);
      await assertNoSymlinkParents(root, rel);
      const base = rel.split('/').pop() ?? '';
      if (base === '.wh..wh..opq') {
        const dir = dirname(target);
        for (const child of await readdir(dir).catch(() => [])) {
          if (!written.has(join(dirname(rel), child))) await rm(join(dir, child), { recursive: true, force: true });
        }
        entry.resume();
        continue;
      }
      if (base.startsWith('.wh.')) {
        await rm(join(dirname(target), base.slice(4)), { recursive: true, force: true });
        entry.resume();
        continue;
      }
      written.add(rel);
      size += await writeEntry(root, target, entry, dirTimes);
    }
  })();
  await Promise.all([pipeline(tar, extractor), consume]);
  for (const [dir, mtime] of dirTimes.reverse()) await utimes(dir, mtime, mtime).catch(() => undefined);
  return { size };
}

interface TarEntry extends AsyncIterable<Uint8Array> {
  header: {
    name: string;
    type?: string | null;
    mode?: number;
    uid?: number;
    gid?: number;
    mtime?: Date;
    linkname?: string | null;
    size?: number;
    devmajor?: number;
    devminor?: number;
  };
  resume(): unknown;
}

async function writeEntry(root: string, target: string, entry: TarEntry, dirTimes: [string, Date][]): Promise<number> {
  const h = entry.header;
  const mode = (h.mode ?? 0o644) & 0o7777;
  const existing = await lstat(target).catch(() => undefined);
  if (h.type === 'directory') {
    if (existing && !existing.isDirectory()) await rm(target, { force: true });
    await mkdir(target, { recursive: true });
    await chmod(target, mode);
    await chown(target, h.uid ?? 0, h.gid ?? 0);
    if (h.mtime) dirTimes.push([target, h.mtime]);
    entry.resume();
    return 0;
  }
  if (existing) await rm(target, { recursive: true, force: true });
  await mkdir(dirname(target), { recursive: true });
  if (h.type === 'symlink') {
    await symlink(h.linkname ?? '', target);
    await lchown(target, h.uid ?? 0, h.gid ?? 0);
    entry.resume();
    return 0;
  }
  if (h.type === 'link') {
    const source = safePath(h.linkname ?? '');
    if (!source) throw new Fault('invalid-argument', `bad hardlink target ${h.linkname}`);
    await link(join(root, source), target);
    entry.resume();
    return 0;
  }
  if (h.type === 'character-device' || h.type === 'block-device' || h.type === 'fifo') {
    const kind = h.type === 'fifo' ? ['p'] : [h.type === 'block-device' ? 'b' : 'c', String(h.devmajor ?? 0), String(h.devminor ?? 0)];
    await run('mknod', ['-m', mode.toString(8), target, ...kind]);
    entry.resume();
    return 0;
  }
  await pipeline(entry, createWriteStream(target, { mode }));
  await chmod(target, mode);
  await chown(target, h.uid ?? 0, h.gid ?? 0);
  if (h.mtime) await utimes(target, h.mtime, h.mtime);
  return h.size ?? 0;
}

function safePath(name: string): string | undefined {
  const rel = normalize(name).replace(/^(\.\/|\/)+/, '').replace(/\/$/, '');
  if (!rel || rel === '.' || rel.split('/').includes('..')) return undefined;
  return rel;
}

/** A layer must not write through a symlinked directory (it could escape the root). */
async function assertNoSymlinkParents(root: string, rel: string): Promise<void> {
  const parts = rel.split('/').slice(0, -1);
  let current = root;
  for (const part of parts) {
    current = join(current, part);
    const st = await lstat(current).catch(() => undefined);
    if (!st) return;
    if (st.isSymbolicLink()) throw new Fault('invalid-argument', `layer entry ${rel} goes through symlink ${part}`);
  }
}
