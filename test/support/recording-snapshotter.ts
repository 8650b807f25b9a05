import { Readable } from 'node:stream';
import { Fault } from '../../src/base/fault.ts';
import type { Mount, SnapshotInfo, Snapshotter } from '../../src/engine/snapshots/snapshotter.ts';

/**
 * Records snapshots and consumes layer tars without touching the filesystem: enough for the image
 * bookkeeping these tests are about (the overlay snapshotter has its own conformance suite).
 */
export class RecordingSnapshotter implements Snapshotter {
  snapshots = new Map<string, SnapshotInfo>();
  applied = new Map<string, number>();

  async prepare(key: string, parent?: string): Promise<Mount[]> {
    this.snapshots.set(key, { key, parent, kind: 'active', createdAt: new Date().toISOString() });
    return [];
  }
  async view(key: string, parent: string): Promise<Mount[]> {
    this.snapshots.set(key, { key, parent, kind: 'view', createdAt: new Date().toISOString() });
    return [];
  }
  async mounts(): Promise<Mount[]> {
    return [];
  }
  async commit(name: string, key: string): Promise<void> {
    const info = this.snapshots.get(key);
    if (!info) throw new Fault('not-found', `snapshot ${key}`);
    this.snapshots.delete(key);
    this.snapshots.set(name, { ...info, key: name, kind: 'committed' });
  }
  async remove(key: string): Promise<void> {
    if ([...this.snapshots.values()].some((s) => s.parent === key)) throw new Fault('failed-precondition', `${key} has children`);
    if (!this.snapshots.delete(key)) throw new Fault('not-found', `snapshot ${key}`);
  }
  async stat(key: string): Promise<SnapshotInfo | undefined> {
    return this.snapshots.get(key);
  }
  async *walk(): AsyncIterable<SnapshotInfo> {
    yield* this.snapshots.values();
  }
  async applyLayer(key: string, tar: Readable): Promise<{ size: number }> {
    let size = 0;
    for await (const chunk of tar) size += (chunk as Buffer).length;
    this.applied.set(key, size);
    return { size };
  }
  async diff(): Promise<Readable> {
    return Readable.from([]);
  }
}
