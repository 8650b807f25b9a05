/*
 * Unpacks an uncompressed OCI/Docker layer tar into a snapshot's writable directory, the way overlayfs wants
 * to see it as a lower layer (OCI image-spec layer.md "Whiteouts"):
 *  - `.wh.<name>`   -> a whiteout device 0/0 at <name> (hides <name> of the layers below);
 *  - `.wh..wh..opq` -> the directory gets trusted.overlay.opaque=y (hides everything below it, keeps what this
 *    layer puts there, whatever the order of the entries);
 *  - a base layer (nothing below) drops the marks: there is nothing to hide.
 * Modes (setuid included), owners, mtimes, symlinks, hardlinks, fifos and devices are kept. No entry may leave
 * the root: `..` is refused, parents are never followed through a symlink, and files are created with O_EXCL
 * after removing what was there, so a symlink planted by the layer is never written through.
 */
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { chmod, chown, copyFile, lchown, link, lstat, lutimes, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { extract, type Header } from 'tar-stream';
import { Fault } from '../../base/fault.ts';
import { isWhiteout, writeOverlayMarks } from './overlay-marks.ts';

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
}

/** Streams `tar` into `options.root`. Resolves with the bytes of file content written. */
export async function applyLayerTar(tar: Readable, options: ApplyLayerOptions): Promise<{ size: number }> {
  const applier = new LayerApplier(options);
  const extractor = extract();
  const feeding = pipeline(tar, extractor as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extractor) await applier.apply(entry as unknown as Entry);
    await feeding;
  } catch (err) {
    extractor.destroy();
    tar.destroy();
    throw err;
  }
  await applier.finish();
  return { size: applier.size };
}

/** The entry's path relative to the root ('' for the root itself); Fault when it would escape. */
export function layerPath(name: string): string {
  const normal = posix.normalize(`/${name}`);
  if (name.split('/').includes('..')) throw new Fault('invalid-argument', `layer entry ${JSON.stringify(name)} escapes the root`);
  return normal.replace(/^\/+/, '').replace(/\/+$/, '');
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

  constructor(options: ApplyLayerOptions) {
    this.#root = options.root;
    this.#lowers = options.lowers;
  }

  get #hasLowers(): boolean {
    return this.#lowers.length > 0;
  }

  async apply(entry: Entry): Promise<void> {
    const header = entry.header;
    const rel = layerPath(header.name);
    const base = posix.basename(rel);
    try {
      if (base.startsWith(whiteoutPrefix)) await this.#whiteout(rel, base);
      else if (header.type === 'directory') await this.#directory(rel, header);
      else if (rel) await this.#nonDirectory(rel, entry);
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
      const existing = await lstat(abs).catch(() => undefined);
      const replacesWhiteout = this.#whiteouts.delete(rel) || (existing !== undefined && isWhiteout(existing));
      if (existing && !existing.isDirectory()) await this.#clear(rel);
      // A directory that replaces a deleted one must not show the old contents from below.
      if (replacesWhiteout && this.#hasLowers) this.#opaque.add(rel);
      if (!existing?.isDirectory()) await mkdir(abs);
      this.#dirs.add(rel);
    }
    await chown(abs, header.uid ?? 0, header.gid ?? 0);
    await chmod(abs, (header.mode ?? 0o755) & 0o7777);
    if (header.mtime) this.#dirTimes.push([abs, header.mtime]);
  }

  async #nonDirectory(rel: string, entry: Entry): Promise<void> {
    const header = entry.header;
    const abs = join(this.#root, rel);
    await this.#ensureDir(posix.dirname(rel) === '.' ? '' : posix.dirname(rel));
    await this.#clear(rel);
    const mode = (header.mode ?? 0o644) & 0o7777;
    switch (header.type) {
      case 'symlink':
        await symlink(header.linkname ?? '', abs);
        await lchown(abs, header.uid ?? 0, header.gid ?? 0);
        if (header.mtime) await lutimes(abs, header.mtime, header.mtime);
        return;
      case 'link':
        await this.#hardlink(rel, header.linkname ?? '');
        return;
      case 'character-device':
      case 'block-device':
      case 'fifo': {
        const kind = header.type === 'fifo' ? ['p'] : [header.type === 'block-device' ? 'b' : 'c', String(header.devmajor ?? 0), String(header.devminor ?? 0)];
        await run('mknod', ['-m', mode.toString(8), abs, ...kind]);
        break;
      }
      case 'file':
      case 'contiguous-file':
        await pipeline(entry, createWriteStream(abs, { flags: 'wx', mode: 0o600 }));
        this.size += header.size ?? 0;
        break;
      default:
        return;
    }
    // chown clears setuid/setgid: the mode goes on after it.
    await chown(abs, header.uid ?? 0, header.gid ?? 0);
    await chmod(abs, mode);
    if (header.mtime) await utimes(abs, header.mtime, header.mtime);
  }

  /** A hardlink to a file of this layer, or (a layer may link to a file below it) a copy of the lower file. */
  async #hardlink(rel: string, linkname: string): Promise<void> {
    const source = layerPath(linkname);
    await this.#ensureDir(posix.dirname(source) === '.' ? '' : posix.dirname(source), { create: false });
    const abs = join(this.#root, rel);
    const here = await lstat(join(this.#root, source)).catch(() => undefined);
    if (here && !isWhiteout(here)) {
      await link(join(this.#root, source), abs);
      return;
    }
    for (const lower of this.#lowers) {
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
    if (existing?.isDirectory()) {
      const prefix = `${rel}/`;
      for (const set of [this.#dirs, this.#whiteouts, this.#opaque]) for (const p of set) if (p.startsWith(prefix) || p === rel) set.delete(p);
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

  async finish(): Promise<void> {
    const abs = (rel: string) => join(this.#root, rel);
    await writeOverlayMarks({ whiteouts: [...this.#whiteouts].map(abs), opaque: [...this.#opaque].map(abs) });
    // Last: creating children (and the marks) bumps a directory's mtime.
    for (const [dir, mtime] of this.#dirTimes.reverse()) await utimes(dir, mtime, mtime).catch(() => undefined);
  }
}
