import type { Readable } from 'node:stream';
import type { Change } from './layer-diff.ts';

export type { Change, ChangeKind } from './layer-diff.ts';

/**
 * A mount as data: the caller (runc-runtime.ts for a container's rootfs, mount.ts `mountAll` for tools and
 * tests) performs it. `type` is a filesystem type or 'bind'; `options` are mount(8) `-o` options ('ro',
 * 'rbind', 'lowerdir=…', …). `target` is never set by a snapshotter: the caller chooses it.
 */
export interface Mount {
  type: string;
  source: string;
  target?: string;
  options: string[];
}

export type SnapshotKind = 'committed' | 'active' | 'view';

export interface SnapshotInfo {
  /** Key of an active/view snapshot, or name of a committed one (e.g. a layer's chainID). */
  key: string;
  parent?: string;
  kind: SnapshotKind;
  createdAt: string;
}

export interface SnapshotUsage {
  /** Bytes of the snapshot's own files (not its parents'). */
  size: number;
  inodes: number;
}

/**
 * Layered filesystems in the manner of containerd's snapshotter: committed snapshots are read-only layers
 * (named by chainID), active ones are writable and become a container's rootfs or a layer being unpacked,
 * views are read-only rootfs over a committed chain. Keys are opaque strings (any characters, ≤ 512).
 * Lifecycle of a layer: prepare(tmpKey, parentChainId) -> applyLayer(tmpKey, tar) -> commit(chainId, tmpKey).
 * A container: prepare(containerId, topChainId) -> mounts(containerId) -> … -> remove(containerId).
 * Errors are Faults: not-found, already-exists, failed-precondition (wrong kind, has children).
 */
export interface Snapshotter {
  /** Creates a writable snapshot on top of committed `parent` (undefined = empty) and returns its mounts. */
  prepare(key: string, parent?: string): Promise<Mount[]>;
  /** A read-only view of committed `parent` (undefined = empty). */
  view(key: string, parent?: string): Promise<Mount[]>;
  /** Mounts of an existing active or view snapshot. */
  mounts(key: string): Promise<Mount[]>;
  /** Turns active snapshot `key` into the committed snapshot `name` (key no longer exists). */
  commit(name: string, key: string): Promise<void>;
  /** Removes a snapshot and its files; a snapshot with children throws Fault failed-precondition. */
  remove(key: string): Promise<void>;
  stat(key: string): Promise<SnapshotInfo | undefined>;
  walk(): AsyncIterable<SnapshotInfo>;
  /** Disk usage of the snapshot's own directory (`docker ps -s`, `system df`). Optional: added later. */
  usage?(key: string): Promise<SnapshotUsage>;
  /**
   * Unpacks an uncompressed layer tar (OCI whiteouts and opaque dirs applied) into the active snapshot `key`.
   * Streams: never buffers the layer. Refuses entries escaping the root (Fault invalid-argument).
   */
  applyLayer(key: string, tar: Readable): Promise<{ size: number }>;
  /**
   * The changes of active (or committed) snapshot `key` against its parent, as an uncompressed OCI layer tar
   * stream (for `docker commit`/`export` of changes). Pause a running container first. `omit` names paths (as
   * `changes` gives them) left out of the layer.
   */
  diff(key: string, options?: { omit?: ReadonlySet<string> }): Promise<Readable>;
  /** `docker diff`: paths the active snapshot added, modified or deleted against its parent. Optional: added later. */
  changes?(key: string): Promise<Change[]>;
}
