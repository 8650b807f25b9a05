/*
 * The inverse of layer-apply.ts: a snapshot's writable directory (an overlay upperdir) as an OCI layer tar.
 * Whiteout devices become `.wh.<name>` entries, opaque directories get a `.wh..wh..opq` entry, hardlinked
 * files are emitted once and then as links, extended attributes become PAX `SCHILY.xattr.*` records (but not
 * overlayfs's own trusted.overlay.*, nor the host's security.selinux label). Entries are sorted, parents first, so the same tree always
 * gives the same bytes (and the same diffID). The tree should not change while it is read (pause a container
 * first): a file that changes size makes the tar stream fail.
 */
import { createReadStream, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { pack, type Header, type Pack } from 'tar-stream';

import { goTarModes } from './go-tar-modes.ts';
import { isWhiteout, opaqueDirectories } from './overlay-marks.ts';
import { writePaxXattrs } from './pax-xattrs.ts';
import { readXattrs, type Xattrs } from './xattrs.ts';

type Headers = Partial<Header> & { name: string };

export type ChangeKind = 'modified' | 'added' | 'deleted';

export interface Change {
  /** Absolute path inside the container ('/etc/hosts'). */
  path: string;
  kind: ChangeKind;
  /** A directory present below whose own mode or owner differs there (moby's statDifferent for directories). */
  ownChange?: true;
}

interface Node {
  rel: string;
  stat: Stats;
}

/** Every entry under `root`, parents first, names sorted. */
async function walk(root: string): Promise<Node[]> {
  const out: Node[] = [];
  const visit = async (rel: string): Promise<void> => {
    const names = (await readdir(join(root, rel))).sort();
    for (const name of names) {
      const child = rel ? `${rel}/${name}` : name;
      const stat = await lstat(join(root, child));
      out.push({ rel: child, stat });
      if (stat.isDirectory()) await visit(child);
    }
  };
  await visit('');
  return out;
}

/** Linux dev_t split (glibc's gnu_dev_major/minor). */
function deviceNumbers(rdev: number): { devmajor: number; devminor: number } {
  const dev = BigInt(rdev);
  return {
    devmajor: Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn)),
    devminor: Number((dev & 0xffn) | ((dev >> 12n) & ~0xffn)),
  };
}

function headerOf(node: Node): Headers {
  const { stat } = node;
  const base = { name: node.rel, mode: stat.mode & 0o7777, uid: stat.uid, gid: stat.gid, mtime: stat.mtime };
  if (stat.isDirectory()) return { ...base, name: `${node.rel}/`, type: 'directory' };
  if (stat.isSymbolicLink()) return { ...base, type: 'symlink' };
  if (stat.isFIFO()) return { ...base, type: 'fifo' };
  if (stat.isCharacterDevice()) return { ...base, type: 'character-device', ...deviceNumbers(stat.rdev) };
  if (stat.isBlockDevice()) return { ...base, type: 'block-device', ...deviceNumbers(stat.rdev) };
  return { ...base, type: 'file', size: stat.size };
}

/** An entry without content (the empty buffer ends it; without one tar-stream waits for a body). */
function addEntry(tar: Pack, header: Headers): Promise<void> {
  return new Promise((resolve, reject) => tar.entry(header, Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
}

/** Whether a layer carries the attribute `name` (see the top of this file). */
function layerXattr(name: string): boolean {
  if (name.startsWith('trusted.overlay.') || name === 'security.selinux') return false;
  return name.startsWith('user.') || name.startsWith('security.') || name.startsWith('trusted.');
}


/** What diffLayerTar leaves out of a layer besides overlay's own marks. */
export interface DiffOptions {
  /** Whether there are layers below (whiteout marks only count then). */
  hasLowers: boolean;
  /** Paths (`/etc/hosts`, as Change paths) that are not the layer's: the runtime's mount points (container-changes.ts). */
  omit?: ReadonlySet<string>;
}

async function writeLayer(tar: Pack, root: string, options: DiffOptions): Promise<void> {
  const { hasLowers, omit } = options;
  const nodes = (await walk(root)).filter((n) => !omit?.has(`/${n.rel}`));
  const dirs = nodes.filter((n) => n.stat.isDirectory()).map((n) => join(root, n.rel));
  const opaque = hasLowers ? await opaqueDirectories(dirs) : new Set<string>();
  const xattrs = await readXattrs(nodes.map((n) => join(root, n.rel)));
  const firstLink = new Map<string, string>();
  for (const [index, node] of nodes.entries()) {
    const { rel, stat } = node;
    if (isWhiteout(stat)) {
      const dir = posix.dirname(rel);
      const name = `${dir === '.' ? '' : `${dir}/`}.wh.${posix.basename(rel)}`;
      if (hasLowers) await addEntry(tar, { name, type: 'file', size: 0, mode: 0o644, mtime: stat.mtime });
      continue;
    }
    let header = headerOf(node);
    if (stat.isSymbolicLink()) header.linkname = await readlink(join(root, rel));
    if (stat.isFile() && stat.nlink > 1) {
      const key = `${stat.dev}:${stat.ino}`;
      const first = firstLink.get(key);
      if (first) header = { ...header, type: 'link', linkname: first, size: 0 };
      else firstLink.set(key, rel);
    }
    const kept: Xattrs = new Map([...xattrs[index]].filter(([name]) => layerXattr(name)));
    if (kept.size) header = writePaxXattrs(tar, header, kept);
    if (header.type === 'file') await pipeline(createReadStream(join(root, rel)), tar.entry(header) as unknown as NodeJS.WritableStream);
    else await addEntry(tar, header);
    if (opaque.has(join(root, rel))) await addEntry(tar, { name: `${rel}/.wh..wh..opq`, type: 'file', size: 0, mode: 0o644, mtime: stat.mtime });
  }
}

/** Streams the tree under `root` as a layer tar. */
export function diffLayerTar(root: string, options: DiffOptions): Readable {
  const tar = pack();
  // Headers as moby's layer tars have them: the mode with its file type bits.
  const out = goTarModes();
  // The pipeline owns both streams: a reader that goes away destroys the packer, a failing walk ends the reader.
  pipeline(tar as unknown as Readable, out).catch(() => undefined);
  writeLayer(tar, root, options).then(
    () => tar.finalize(),
    (err: Error) => out.destroy(err),
  );
  return out;
}

/**
 * `docker diff`: what the writable directory changed against the layers below. A path present below is
 * modified, absent below is added; a whiteout is deleted (its subtree is not listed, as moby does not).
 */
export async function listChanges(root: string, lowers: readonly string[]): Promise<Change[]> {
  const nodes = await walk(root);
  const below = async (rel: string) => {
    for (const lower of lowers) {
      const st = await lstat(join(lower, rel)).catch(() => undefined);
      if (st) return isWhiteout(st) ? undefined : st;
    }
    return undefined;
  };
  const changes: Change[] = [];
  for (const { rel, stat } of nodes) {
    if (isWhiteout(stat)) {
      changes.push({ path: `/${rel}`, kind: 'deleted' });
      continue;
    }
    const lower = await below(rel);
    if (!lower) changes.push({ path: `/${rel}`, kind: 'added' });
    else if (stat.isDirectory() && (stat.mode !== lower.mode || stat.uid !== lower.uid || stat.gid !== lower.gid)) {
      changes.push({ path: `/${rel}`, kind: 'modified', ownChange: true });
    } else changes.push({ path: `/${rel}`, kind: 'modified' });
  }
  return changes;
}
