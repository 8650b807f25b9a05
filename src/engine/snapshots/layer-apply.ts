/*
 * Unpacks an uncompressed OCI/Docker layer tar into a snapshot's writable directory, the way overlayfs wants
 * to see it as a lower layer (OCI image-spec layer.md "Whiteouts"):
 *  - `.wh.<name>`   -> a whiteout device 0/0 at <name> (hides <name> of the layers below);
 *  - `.wh..wh..opq` -> the directory gets trusted.overlay.opaque=y (hides everything below it, keeps what this
 *    layer puts there, whatever the order of the entries);
 *  - a base layer (nothing below) drops the marks: there is nothing to hide.
 * Modes (setuid included), owners, mtimes, symlinks, hardlinks, fifos, devices and extended attributes (PAX
 * `SCHILY.xattr.*`, set last: a chown or a write drops security.capability) are kept. No entry may leave
 * the root: `..` is refused, parents are never followed through a symlink, and files are created with O_EXCL
 * after removing what was there, so a symlink planted by the layer is never written through.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, chown, copyFile, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import type { Header } from 'tar-stream';
import { feedingFault } from '../../base/archive-fault.ts';
import { Fault } from '../../base/fault.ts';
import { isWhiteout, writeOverlayMarks } from './overlay-marks.ts';
import { xattrExtractor } from './pax-xattrs.ts';
import { checkLayerXattr, writeXattrs, type Xattrs } from './xattrs.ts';

const run = promisify(execFile);

/** A tar-stream entry: its header and its body (which must be consumed or resumed). */
type Entry = Readable & { header: Header };
const whiteoutPrefix = '.wh.';
const opaqueMarker = '.wh..wh..opq';

export interface ApplyLayerOptions {
  /** The writable directory receiving the layer. */
  root: string;
  /** The directories of the layers below, top first (empty for a base layer). */
  lowers: readonly string[];
  /** Owner of every entry instead of the tar's (`docker cp -a` into a container with a USER). */
  owner?: { uid: number; gid: number };
  /** Refuse to replace a directory with a non-directory or the reverse (`docker cp`'s noOverwriteDirNonDir). */
  noOverwriteDirNonDir?: boolean;
}

export interface AppliedLayer {
  /** Bytes of file content written. */
  size: number;
  /** Extended attributes the filesystem refused with EPERM or ENOTSUP, skipped as moby skips them. */
  ignoredXattrs: string[];
}

/** Streams `tar` into `options.root`. */
export async function applyLayerTar(tar: Readable, options: ApplyLayerOptions): Promise<AppliedLayer> {
  const { extractor, xattrsOf } = xattrExtractor();
  const applier = new LayerApplier(options, xattrsOf);
  // The pipeline owns both streams: leaving the loop early (a refused entry) destroys the extractor, the pipeline
  // then destroys `tar` too, and its rejection is awaited or caught here, never left for the process to find.
  const feeding = pipeline(tar, extractor as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extractor) await applier.apply(entry as unknown as Entry);
    await feeding;
  } catch (err) {
    extractor.destroy();
    tar.destroy();
    throw await feedingFault(err, feeding);
  }
  const { ignoredXattrs } = await applier.finish();
  return { size: applier.size, ignoredXattrs };
}

/**
 * The entry's path relative to the root ('' for the root itself); a Fault when it would escape. An absolute name
 * is taken from the root, as moby's unpacker does; `..` is refused outright (moby: "… is outside of …").
 */
export function layerPath(name: string): string {
  if (name.split('/').includes('..')) throw new Fault('invalid-argument', `invalid tar entry: ${JSON.stringify(name)} is outside of the archive root`);
  return posix.normalize(`/${name}`).replace(/^\/+/, '').replace(/\/+$/, '');
}

class LayerApplier {
  size = 0;
  #root: string;
  #lowers: readonly string[];
  /** Relative directories known to be real directories of the root (not symlinks). */
  #dirs = new Set<string>(['']);
  #whiteouts = new Set<string>();
  #opaque = new Set<string>();
  #dirTimes: [string, Date][] = [];
  /** Extended attributes to set at the end, by relative path. */
  #xattrs = new Map<string, Xattrs>();
  #options: ApplyLayerOptions;
  #xattrsOf: (header: Header) => Xattrs | undefined;

  constructor(options: ApplyLayerOptions, xattrsOf: (header: Header) => Xattrs | undefined) {
    this.#root = options.root;
    this.#lowers = options.lowers;
    this.#options = options;
    this.#xattrsOf = xattrsOf;
  }

  #owner(header: Header): [number, number] {
    const owner = this.#options.owner;
    return owner ? [owner.uid, owner.gid] : [header.uid ?? 0, header.gid ?? 0];
  }

  /** moby's NoOverwriteDirNonDir check, before anything at `rel` is replaced. */
  async #checkOverwrite(rel: string, directory: boolean): Promise<void> {
    if (!this.#options.noOverwriteDirNonDir || !rel) return;
    const existing = await lstat(join(this.#root, rel)).catch(() => undefined);
    if (!existing || existing.isDirectory() === directory) return;
    const [what, by] = directory ? ['non-directory', 'directory'] : ['directory', 'non-directory'];
    throw new Fault('invalid-argument', `cannot overwrite ${what} ${JSON.stringify(`/${rel}`)} with ${by} ${JSON.stringify(`/${rel}`)}`);
  }

  get #hasLowers(): boolean {
    return this.#lowers.length > 0;
  }

  async apply(entry: Entry): Promise<void> {
    const header = entry.header;
    const rel = layerPath(header.name);
    const base = posix.basename(rel);
    try {
      if (base.startsWith(whiteoutPrefix)) return await this.#whiteout(rel, base);
      const xattrs = this.#xattrsOf(header);
      for (const name of xattrs?.keys() ?? []) checkLayerXattr(name, header.name);
      let made = true;
      if (header.type === 'directory') await this.#directory(rel, header);
      else made = rel !== '' && (await this.#nonDirectory(rel, entry));
      if (xattrs && made) this.#xattrs.set(rel, xattrs);
    } finally {
      entry.resume();
    }
  }

  async #whiteout(rel: string, base: string): Promise<void> {
    const parent = posix.dirname(rel) === '.' ? '' : posix.dirname(rel);
    await this.#ensureDir(parent);
    if (base === opaqueMarker) {
      if (this.#hasLowers) this.#opaque.add(parent);
      return;
    }
    // Other `.wh..wh.` names are aufs bookkeeping (plnk, aufs): nothing to apply.
    if (base.startsWith(`${whiteoutPrefix}${whiteoutPrefix}`)) return;
    const target = posix.join(parent, base.slice(whiteoutPrefix.length));
    await this.#clear(target);
    if (this.#hasLowers) this.#whiteouts.add(target);
  }

  async #directory(rel: string, header: Header): Promise<void> {
    const abs = join(this.#root, rel);
    if (rel) {
      await this.#ensureDir(posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
      await this.#checkOverwrite(rel, true);
      const existing = await lstat(abs).catch(() => undefined);
      const replacesWhiteout = this.#whiteouts.delete(rel) || (existing !== undefined && isWhiteout(existing));
      if (existing && !existing.isDirectory()) await this.#clear(rel);
      // A directory that replaces a deleted one must not show the old contents from below.
      if (replacesWhiteout && this.#hasLowers) this.#opaque.add(rel);
      if (!existing?.isDirectory()) await mkdir(abs);
      this.#dirs.add(rel);
    }
    await chown(abs, ...this.#owner(header));
    await chmod(abs, (header.mode ?? 0o755) & 0o7777);
    if (header.mtime) this.#dirTimes.push([abs, header.mtime]);
  }

  /** Makes the entry at `rel`; false for a type it skips. */
  async #nonDirectory(rel: string, entry: Entry): Promise<boolean> {
    const header = entry.header;
    const abs = join(this.#root, rel);
    await this.#ensureDir(posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
    await this.#checkOverwrite(rel, false);
    await this.#clear(rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    switch (header.type) {
      case 'symlink':
        await symlink(header.linkname ?? '', abs);
        await lchown(abs, ...this.#owner(header));
        if (header.mtime) await lutimes(abs, header.mtime, header.mtime);
        return true;
      case 'link':
        await this.#hardlink(rel, header.linkname ?? '');
        return true;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const kind = header.type === 'fifo' ? ['p'] : [header.type === 'block-device' ? 'b' : 'c', String(header.devmajor ?? 0), String(header.devminor ?? 0)];
        await run('mknod', ['-m', mode.toString(8), abs, ...kind]);
        break;
      }
      case 'file':
      case 'contiguous-file':
        // Through the entry's iterator: Node's pipeline misses a streamx entry's error (a truncated archive) and waits.
        await pipeline(Readable.from(entry), createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
        this.size += header.size ?? 0;
        break;
      default:
        return false;
    }
    // chown clears setuid/setgid: the mode goes on after it.
    await chown(abs, ...this.#owner(header));
    await chmod(abs, mode);
    if (header.mtime) await utimes(abs, header.mtime, header.mtime);
    return true;
  }

  /** A hardlink to a file of this layer, or (a layer may link to a file below it) a copy of the lower file. */
  async #hardlink(rel: string, linkname: string): Promise<void> {
    if (linkname.split('/').includes('..')) throw new Fault('invalid-argument', `invalid hardlink ${JSON.stringify(rel)} -> ${JSON.stringify(linkname)}`);
    const source = layerPath(linkname);
    await this.#ensureDir(posix.dirname(source) === '.' ? '' : posix.dirname(source), { create: false });
    const abs = join(this.#root, rel);
    const here = await lstat(join(this.#root, source)).catch(() => undefined);
    if (here && !isWhiteout(here)) {
      await link(join(this.#root, source), abs);
      return;
    }
    for (const lower of this.#lowers) {
      // A lower layer's `d -> /etc` must not make `d/shadow` the host's: its parents are walked without following.
      if (await throughSymlink(lower, source)) break;
      const st = await lstat(join(lower, source)).catch(() => undefined);
      if (!st) continue;
      if (!st.isFile()) break;
      await copyFile(join(lower, source), abs);
      await chown(abs, st.uid, st.gid);
      await chmod(abs, st.mode & 0o7777);
      await utimes(abs, st.atime, st.mtime);
      return;
    }
    throw new Fault('invalid-argument', `layer entry ${rel}: hardlink target ${linkname} not found`);
  }

  /** Removes whatever this layer has at `rel` (and any marks pending under it). */
  async #clear(rel: string): Promise<void> {
    const abs = join(this.#root, rel);
    const existing = await lstat(abs).catch(() => undefined);
    this.#whiteouts.delete(rel);
    this.#opaque.delete(rel);
    this.#xattrs.delete(rel);
    if (existing?.isDirectory()) {
      const prefix = `${rel}/`;
      for (const set of [this.#dirs, this.#whiteouts, this.#opaque]) for (const p of set) if (p.startsWith(prefix) || p === rel) set.delete(p);
      for (const p of this.#xattrs.keys()) if (p.startsWith(prefix)) this.#xattrs.delete(p);
    }
    if (existing) await rm(abs, { recursive: true, force: true });
  }

  /** Makes sure `rel` is a real directory of the root, creating missing ones; refuses a path through a symlink. */
  async #ensureDir(rel: string, options: { create: boolean } = { create: true }): Promise<void> {
    if (this.#dirs.has(rel)) return;
    let current = '';
    for (const part of rel.split('/')) {
      current = current ? `${current}/${part}` : part;
      if (this.#dirs.has(current)) continue;
      const abs = join(this.#root, current);
      const st = await lstat(abs).catch(() => undefined);
      if (st?.isSymbolicLink()) throw new Fault('invalid-argument', `layer path ${rel} goes through the symlink ${current}`);
      if (!st) {
        if (!options.create) return;
        await mkdir(abs, { mode: 0o755 });
      } else if (!st.isDirectory()) {
        throw new Fault('invalid-argument', `layer path ${rel}: ${current} is not a directory`);
      }
      this.#dirs.add(current);
    }
  }

  async finish(): Promise<{ ignoredXattrs: string[] }> {
    const abs = (rel: string) => join(this.#root, rel);
    await writeOverlayMarks({ whiteouts: [...this.#whiteouts].map(abs), opaque: [...this.#opaque].map(abs) });
    const { ignored } = await writeXattrs([...this.#xattrs].map(([rel, xattrs]) => ({ path: abs(rel), xattrs })));
    // Last: creating children (and the marks) bumps a directory's mtime.
    for (const [dir, mtime] of this.#dirTimes.reverse()) await utimes(dir, mtime, mtime).catch(() => undefined);
    return { ignoredXattrs: ignored };
  }
}

/** Whether a parent of `rel` under `root` is a symlink (or not a directory): a path that would leave the tree. */
async function throughSymlink(root: string, rel: string): Promise<boolean> {
  const parts = rel.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) {
    const st = await lstat(join(root, ...parts.slice(0, i))).catch(() => undefined);
    if (!st) return false;
    if (!st.isDirectory()) return true;
  }
  return false;
}
