/*
 * Snapshots on overlayfs. On disk (root = <data root>/engine/snapshots):
 *   metadata.json        { version, next, snapshots: { <key>: { id, parent?, kind, createdAt } } }
 *   <id>/fs              the snapshot's own files: a layer (committed) or the upperdir (active)
 *   <id>/work            overlay workdir of an active snapshot
 * Directories are named by a small sequence number, not by key: keys are arbitrary strings and short paths
 * keep long lowerdir chains within the kernel's one-page mount options.
 * Metadata is one small JSON file rewritten atomically (write + fsync + rename) on every change: snapshots
 * number in the hundreds, and the engine is the only writer. Crash safety: a directory is created before its
 * metadata names it and forgotten before it is deleted, so a crash leaves at worst an orphan directory, which
 * the next start removes. The snapshotter never mounts: layers are written straight into <id>/fs with overlay's
 * own whiteout devices and opaque xattrs (layer-apply.ts), and diff reads them back (layer-diff.ts).
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault } from '../../base/fault.ts';
import { applyLayerTar } from './layer-apply.ts';
import { diffLayerTar, listChanges, type Change } from './layer-diff.ts';
import type { Mount, SnapshotInfo, SnapshotKind, Snapshotter, SnapshotUsage } from './snapshotter.ts';

interface SnapshotRecord {
  id: number;
  parent?: string;
  kind: SnapshotKind;
  createdAt: string;
}

interface Metadata {
  version: 1;
  next: number;
  snapshots: { [key: string]: SnapshotRecord };
}

export interface OverlaySnapshotterOptions {
  /** Directory of the snapshots (<data root>/engine/snapshots). */
  root: string;
  clock?: () => Date;
}

export class OverlaySnapshotter implements Snapshotter {
  #root: string;
  #clock: () => Date;
  #meta: Metadata;

  constructor(options: OverlaySnapshotterOptions) {
    this.#root = options.root;
    this.#clock = options.clock ?? (() => new Date());
    mkdirSync(this.#root, { recursive: true, mode: 0o700 });
    this.#meta = this.#load();
    this.#removeOrphans();
  }

  #load(): Metadata {
    const file = join(this.#root, 'metadata.json');
    if (!existsSync(file)) return { version: 1, next: 1, snapshots: {} };
    const meta = JSON.parse(readFileSync(file, 'utf8')) as Metadata;
    if (meta.version !== 1) throw new Fault('failed-precondition', `snapshot metadata ${file} has unknown version ${meta.version}`);
    return meta;
  }

  #save(): void {
    const file = join(this.#root, 'metadata.json');
    const fd = openSync(`${file}.tmp`, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(this.#meta));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${file}.tmp`, file);
  }

  /** Directories no metadata names: left by a crash between mkdir and save, or between forget and delete. */
  #removeOrphans(): void {
    const known = new Set(Object.values(this.#meta.snapshots).map((r) => String(r.id)));
    for (const name of readdirSync(this.#root)) {
      if (/^\d+$/.test(name) && !known.has(name)) rmSync(join(this.#root, name), { recursive: true, force: true });
    }
  }

  #record(key: string): SnapshotRecord {
    const record = Object.hasOwn(this.#meta.snapshots, key) ? this.#meta.snapshots[key] : undefined;
    if (!record) throw new Fault('not-found', `snapshot ${key} does not exist`);
    return record;
  }

  #dir(record: SnapshotRecord): string {
    return join(this.#root, String(record.id));
  }

  /** The fs directories of `key` and its ancestors, top first. */
  #chain(key: string | undefined): string[] {
    const out: string[] = [];
    for (let k = key; k !== undefined; k = this.#record(k).parent) out.push(join(this.#dir(this.#record(k)), 'fs'));
    return out;
  }

  async #create(key: string, parent: string | undefined, kind: SnapshotKind): Promise<Mount[]> {
    validateKey(key);
    if (Object.hasOwn(this.#meta.snapshots, key)) throw new Fault('already-exists', `snapshot ${key} already exists`);
    if (parent !== undefined) {
      const p = Object.hasOwn(this.#meta.snapshots, parent) ? this.#meta.snapshots[parent] : undefined;
      if (!p) throw new Fault('not-found', `parent snapshot ${parent} does not exist`);
      if (p.kind !== 'committed') throw new Fault('failed-precondition', `parent snapshot ${parent} is not committed`);
    }
    // Claimed synchronously: a concurrent create of the same key fails instead of racing.
    const record: SnapshotRecord = { id: this.#meta.next++, kind, createdAt: this.#clock().toISOString(), ...(parent !== undefined ? { parent } : {}) };
    this.#meta.snapshots[key] = record;
    try {
      await mkdir(join(this.#dir(record), 'fs'), { recursive: true, mode: 0o755 });
      if (kind === 'active') await mkdir(join(this.#dir(record), 'work'), { mode: 0o700 });
      this.#save();
    } catch (err) {
      delete this.#meta.snapshots[key];
      await rm(this.#dir(record), { recursive: true, force: true });
      throw err;
    }
    return this.mounts(key);
  }

  prepare(key: string, parent?: string): Promise<Mount[]> {
    return this.#create(key, parent, 'active');
  }

  view(key: string, parent?: string): Promise<Mount[]> {
    return this.#create(key, parent, 'view');
  }

  async mounts(key: string): Promise<Mount[]> {
    const record = this.#record(key);
    if (record.kind === 'committed') throw new Fault('failed-precondition', `snapshot ${key} is committed: prepare or view it to mount`);
    const dir = this.#dir(record);
    const lowers = this.#chain(record.parent);
    if (record.kind === 'view') {
      // A single layer is a base layer (no whiteouts to interpret): a read-only bind is cheaper than overlay.
      if (lowers.length <= 1) return [{ type: 'bind', source: lowers[0] ?? join(dir, 'fs'), options: ['ro', 'rbind'] }];
      return [{ type: 'overlay', source: 'overlay', options: [`lowerdir=${lowers.join(':')}`] }];
    }
    if (!lowers.length) return [{ type: 'bind', source: join(dir, 'fs'), options: ['rw', 'rbind'] }];
    return [
      {
        type: 'overlay',
        source: 'overlay',
        // index=off: a snapshot's layers are reused under other uppers (moby does the same). redirect_dir=off:
        // a renamed lower directory is copied up whole, so diff() sees plain files, never redirects.
        options: ['index=off', 'redirect_dir=off', `workdir=${join(dir, 'work')}`, `upperdir=${join(dir, 'fs')}`, `lowerdir=${lowers.join(':')}`],
      },
    ];
  }

  async commit(name: string, key: string): Promise<void> {
    validateKey(name);
    const record = this.#record(key);
    if (record.kind !== 'active') throw new Fault('failed-precondition', `snapshot ${key} is not active`);
    if (Object.hasOwn(this.#meta.snapshots, name)) throw new Fault('already-exists', `snapshot ${name} already exists`);
    delete this.#meta.snapshots[key];
    this.#meta.snapshots[name] = { ...record, kind: 'committed' };
    this.#save();
    await rm(join(this.#dir(record), 'work'), { recursive: true, force: true });
  }

  async remove(key: string): Promise<void> {
    const record = this.#record(key);
    const child = Object.entries(this.#meta.snapshots).find(([, r]) => r.parent === key);
    if (child) throw new Fault('failed-precondition', `cannot remove snapshot ${key}: snapshot ${child[0]} depends on it`);
    delete this.#meta.snapshots[key];
    this.#save();
    await rm(this.#dir(record), { recursive: true, force: true });
  }

  async stat(key: string): Promise<SnapshotInfo | undefined> {
    if (!Object.hasOwn(this.#meta.snapshots, key)) return undefined;
    return info(key, this.#meta.snapshots[key]);
  }

  async *walk(): AsyncIterable<SnapshotInfo> {
    for (const [key, record] of Object.entries(this.#meta.snapshots)) yield info(key, record);
  }

  async usage(key: string): Promise<SnapshotUsage> {
    return diskUsage(join(this.#dir(this.#record(key)), 'fs'));
  }

  async applyLayer(key: string, tar: Readable): Promise<{ size: number }> {
    const record = this.#record(key);
    if (record.kind !== 'active') throw new Fault('failed-precondition', `snapshot ${key} is not active`);
    return applyLayerTar(tar, { root: join(this.#dir(record), 'fs'), lowers: this.#chain(record.parent) });
  }

  async diff(key: string, options: { omit?: ReadonlySet<string> } = {}): Promise<Readable> {
    const record = this.#record(key);
    if (record.kind === 'view') throw new Fault('failed-precondition', `snapshot ${key} is a view: it has no changes`);
    return diffLayerTar(join(this.#dir(record), 'fs'), { hasLowers: record.parent !== undefined, omit: options.omit });
  }

  async changes(key: string): Promise<Change[]> {
    const record = this.#record(key);
    if (record.kind !== 'active') throw new Fault('failed-precondition', `snapshot ${key} is not active`);
    return listChanges(join(this.#dir(record), 'fs'), this.#chain(record.parent));
  }
}

function info(key: string, record: SnapshotRecord): SnapshotInfo {
  return { key, kind: record.kind, createdAt: record.createdAt, ...(record.parent !== undefined ? { parent: record.parent } : {}) };
}

function validateKey(key: string): void {
  if (typeof key !== 'string' || !key || key.length > 512) throw new Fault('invalid-argument', `invalid snapshot key ${JSON.stringify(key)}`);
}

/** Apparent sizes (as docker reports them), each hardlinked inode counted once. */
async function diskUsage(root: string): Promise<SnapshotUsage> {
  let size = 0;
  let inodes = 0;
  const seen = new Set<number>();
  const visit = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      const st = await lstat(join(dir, name));
      inodes++;
      if (st.nlink > 1 && !st.isDirectory()) {
        if (seen.has(st.ino)) continue;
        seen.add(st.ino);
      }
      if (st.isDirectory()) await visit(join(dir, name));
      else size += st.size;
    }
  };
  await visit(root);
  return { size, inodes };
}
