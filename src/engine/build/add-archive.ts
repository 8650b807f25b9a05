/*
 * ADD of a local tar archive as moby's classic builder does it: a source whose bytes (after any plain, gzip,
 * bzip2, xz or zstd compression, told apart by layer-compression) start with a valid tar header is extracted into
 * the destination directory; anything else is copied as it is. Extraction streams (file -> decompress -> tar
 * reader -> files) and stays inside the destination as moby's chrooted untar does: a name that cleans to `..` is
 * refused, and every path, symlinks planted by the archive included, resolves with the destination as `/`. Owners,
 * modes, mtimes and extended attributes (best effort) are the archive's: moby's untar ignores --chown (checked
 * side by side with dockerd 20.10); --chmod, which only BuildKit knows, sets the mode of files and directories.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { link, lstat, mkdir, rm, symlink, utimes } from 'node:fs/promises';
import { join, posix } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Header } from 'tar-stream';
import { feedingFault } from '../../base/archive-fault.ts';
import { Fault } from '../../base/fault.ts';
import { leavesRoot } from '../../base/go-path.ts';
import { decompressStream } from '../images/layer-compression.ts';
import { xattrExtractor } from '../snapshots/pax-xattrs.ts';
import { writeXattrs, type XattrWrite } from '../snapshots/xattrs.ts';
import { makeDirs, makeSpecial, resolveInRoot, setAttributes } from './scoped-copy.ts';

const blockSize = 512;

/** moby's IsArchivePath: whether the (decompressed) file starts with a tar header Go's reader accepts. */
export async function isTarArchive(path: string): Promise<boolean> {
  let head = Buffer.alloc(0);
  try {
    await pipeline(createReadStream(path), decompressStream(), async (source: AsyncIterable<Buffer>) => {
      for await (const chunk of source) {
        head = Buffer.concat([head, chunk]);
        if (head.length >= blockSize) return;
      }
    });
  } catch {
    // Returning early ends the pipeline before its source: a premature close, harmless once the head is read.
    // A compressed file that does not decompress that far is no archive: it is copied as it is.
    if (head.length < blockSize) return false;
  }
  return head.length >= blockSize && validTarHeader(head.subarray(0, blockSize));
}

/** A tar header block whose checksum is right (unsigned or signed sum, as Go's archive/tar accepts). */
export function validTarHeader(block: Buffer): boolean {
  if (block.every((b) => b === 0)) return false;
  const field = block.subarray(148, 156).toString('latin1').replace(/^[\0 ]+|[\0 ]+$/g, '');
  if (!/^[0-7]+$/.test(field)) return false;
  const stored = parseInt(field, 8);
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < blockSize; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return stored === unsigned || stored === signed;
}

export interface ExtractOptions {
  /** Mode of every file and directory instead of the archive's (--chmod). */
  mode?: number;
  /** The destination as the container sees it, for messages. */
  label: string;
}

type Entry = Readable & { header: Header };

/** Extracts archive file `archive` (compressed or not) into host directory `dest`, which exists. */
export async function extractArchive(archive: string, dest: string, options: ExtractOptions): Promise<void> {
  const { extractor, xattrsOf } = xattrExtractor();
  const writer = new ArchiveWriter(dest, options);
  const feeding = pipeline(createReadStream(archive), decompressStream(), extractor as unknown as NodeJS.WritableStream);
  feeding.catch(() => undefined);
  try {
    for await (const entry of extractor) {
      const header = (entry as unknown as Entry).header;
      try {
        await writer.write(entry as unknown as Entry, xattrsOf(header));
      } finally {
        (entry as unknown as Entry).resume();
      }
    }
    await feeding;
  } catch (err) {
    extractor.destroy();
    throw await feedingFault(err, feeding);
  }
  await writer.finish();
}

/** The entry's path relative to the destination ('' for the destination itself); a Fault when it leaves it. */
export function entryPath(name: string, label: string): string {
  if (leavesRoot(name)) throw new Fault('invalid-argument', `${JSON.stringify(name)} is outside of ${JSON.stringify(label)}`);
  return posix.normalize(`/${name}`).replace(/^\/+|\/+$/g, '');
}

class ArchiveWriter {
  #dest: string;
  #options: ExtractOptions;
  /** Directory times are set last: creating their children changes them. */
  #dirTimes: [string, Date][] = [];
  #xattrs: XattrWrite[] = [];

  constructor(dest: string, options: ExtractOptions) {
    this.#dest = dest;
    this.#options = options;
  }

  async write(entry: Entry, xattrs: Map<string, Buffer> | undefined): Promise<void> {
    const header = entry.header;
    const rel = entryPath(header.name, this.#options.label);
    if (!rel) return; // the archive's `./`: the destination keeps its own metadata, as in moby
    const target = await this.#place(rel);
    const existing = await lstat(target).catch(() => undefined);
    const isDir = header.type === 'directory';
    if (existing && !(existing.isDirectory() && isDir)) await rm(target, { recursive: true, force: true });
    if (!(await this.#make(entry, target, !!existing?.isDirectory()))) return;
    const owner = { uid: header.uid ?? 0, gid: header.gid ?? 0 };
    const mode = this.#options.mode ?? (header.mode ?? (isDir ? 0o755 : 0o644)) & 0o7777;
    const mtime = header.mtime ?? new Date(0);
    await setAttributes(target, { ...owner, mode, mtime, symlink: header.type === 'symlink' });
    if (isDir) this.#dirTimes.push([target, mtime]);
    if (xattrs?.size) this.#xattrs.push({ path: target, xattrs });
  }

  /** The host path for entry `rel`: its parent resolved inside the destination and made if missing. */
  async #place(rel: string): Promise<string> {
    const parent = await resolveInRoot(this.#dest, posix.dirname(`/${rel}`));
    await makeDirs(parent).catch((err: unknown) => {
      throw new Fault('invalid-argument', `cannot extract ${rel} into ${this.#options.label}: ${(err as Error).message}`, { cause: err });
    });
    return join(parent, posix.basename(rel));
  }

  /** Makes the entry's file, directory, link or node; false for what is not made (hardlinks keep their target's). */
  async #make(entry: Entry, target: string, dirExists: boolean): Promise<boolean> {
    const header = entry.header;
    switch (header.type) {
      case 'directory':
        if (!dirExists) await mkdir(target, { mode: 0o700 });
        return true;
      case 'file':
      case 'contiguous-file':
        // Through the entry's iterator: Node's pipeline misses a streamx entry's error (a truncated archive).
        await pipeline(Readable.from(entry), createWriteStream(target, { flags: 'wx', mode: 0o600 }));
        return true;
      case 'symlink':
        await symlink(header.linkname ?? '', target);
        return true;
      case 'link': {
        const source = entryPath(header.linkname ?? '', this.#options.label);
        const dir = await resolveInRoot(this.#dest, posix.dirname(`/${source}`));
        await link(join(dir, posix.basename(source)), target).catch((err: unknown) => {
          throw new Fault('invalid-argument', `invalid hardlink ${JSON.stringify(header.name)} -> ${JSON.stringify(header.linkname)}: ${(err as Error).message}`, { cause: err });
        });
        return false;
      }
      case 'fifo':
      case 'character-device':
      case 'block-device': {
        const kind = header.type === 'fifo' ? 'fifo' : header.type === 'block-device' ? 'block' : 'char';
        await makeSpecial(target, kind, (header.mode ?? 0o644) & 0o7777, [header.devmajor ?? 0, header.devminor ?? 0]);
        return true;
      }
      default:
        return false;
    }
  }

  async finish(): Promise<void> {
    // moby's BestEffortXattrs: an attribute the filesystem refuses does not fail the ADD.
    for (const write of this.#xattrs) await writeXattrs([write]).catch(() => undefined);
    for (const [dir, mtime] of this.#dirTimes.reverse()) await utimes(dir, mtime, mtime);
  }
}
