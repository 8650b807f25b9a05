import { randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, opendir, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, type Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { asStorageFull } from '../base/storage-full.ts';
import { copyFileTo } from './fs-copy-to.ts';
import { FsDriverWriter } from './fs-driver-writer.ts';
import { touchFile } from './fs-touch.ts';
import type { StorageDirInfo, StorageDriver, StorageFileInfo, StorageSpan, StorageWriter } from './storage-driver.ts';

// A file set aside by removeIfUnusedSince: `<name>.gc-<uuid>` beside it, found again by recoverRemovals.
const asidePattern = /^(.+)\.gc-[0-9a-f-]{36}$/;

// Large reads halve the per-chunk overhead of a blob GET (measured: 0.9 -> 1.5 GB/s to curl for 1 GiB); one
// buffer per concurrent read is the price.
const readHighWaterMark = 4 * 1024 * 1024;

export interface FsDriverOptions {
  /** Every path is a file under this directory. */
  root: string;
}

/**
 * The filesystem StorageDriver: paths are files under `root`. Writers append in place; commits and moves are
 * fsynced with their directories, so a crash never shows a partial file at a path it moved to.
 */
export class FsDriver implements StorageDriver {
  readonly name = 'filesystem';
  readonly readsOpenWrites = true;
  readonly root: string;

  constructor(options: FsDriverOptions) {
    this.root = options.root;
  }

  async getContent(path: string, limit: number): Promise<Buffer> {
    const file = this.#file(path);
    const fh = await open(file, 'r').catch((err: unknown) => {
      throw missingAsNotFound(err, path);
    });
    try {
      const { size } = await fh.stat();
      if (size > limit) throw new Fault('invalid-argument', `${path} holds ${size} bytes, more than the ${limit} asked for`);
      return await fh.readFile();
    } finally {
      await fh.close();
    }
  }

  /** Written beside the target, fsynced, then renamed over it: readers see the old or the new file whole. */
  async putContent(path: string, content: Uint8Array): Promise<void> {
    const file = this.#file(path);
    const temp = `${file}.tmp-${randomUUID()}`;
    try {
      const created = await mkdir(dirname(file), { recursive: true });
      await writeFile(temp, content, { flush: true });
      await rename(temp, file);
      await this.#syncNewEntry(file, created);
    } catch (err) {
      await rm(temp, { force: true });
      throw asStorageFull(err, this.root);
    }
  }

  async reader(path: string, span?: StorageSpan): Promise<Readable> {
    // Open first: a delete or replace after this point cannot cut the stream short.
    const fh = await open(this.#file(path), 'r').catch((err: unknown) => {
      throw missingAsNotFound(err, path);
    });
    try {
      const { size } = await fh.stat();
      const start = span?.start ?? 0;
      const end = Math.min(span?.end ?? size - 1, size - 1);
      // Each read allocates a whole highWaterMark: a 1 KiB manifest must not cost a 4 MiB buffer.
      if (end < start) {
        await fh.close();
        return Readable.from([]);
      }
      const highWaterMark = Math.min(readHighWaterMark, end - start + 1);
      return fh.createReadStream({ start, end, highWaterMark });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  copyTo(path: string, sink: Writable, options: { span?: StorageSpan; signal?: AbortSignal }): Promise<number> {
    return copyFileTo(this.#file(path), sink, options);
  }

  async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    return FsDriverWriter.open({ path, file: this.#file(path), append: options.append, root: this.root });
  }

  async stat(path: string): Promise<StorageFileInfo | undefined> {
    const info = await stat(this.#file(path)).catch((err: unknown) => {
      if (isMissing(err)) return undefined;
      throw err;
    });
    return info?.isFile() ? { path, size: info.size, modifiedAt: info.mtime } : undefined;
  }

  async *list(prefix: string): AsyncIterable<StorageFileInfo> {
    yield* this.#walk(prefix === '' ? '' : this.#check(prefix));
  }

  async *#walk(dir: string): AsyncIterable<StorageFileInfo> {
    // A directory sorts as its name plus '/', so the walk yields paths in byte order ('a.x' before 'a/b').
    const entries = (await listDir(join(this.root, dir))).map((e) => ({ ...e, key: e.dir ? `${e.name}/` : e.name }));
    entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    for (const entry of entries) {
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if (entry.dir) yield* this.#walk(path);
      else {
        const info = await this.stat(path);
        if (info) yield info;
      }
    }
  }

  async *emptyDirectories(prefix: string): AsyncIterable<StorageDirInfo> {
    const dir = prefix === '' ? '' : this.#check(prefix);
    for (const entry of await listDir(join(this.root, dir))) {
      if (!entry.dir) continue;
      const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
      if ((await listDir(join(this.root, path))).length > 0) {
        yield* this.emptyDirectories(path);
        continue;
      }
      const info = await stat(join(this.root, path)).catch((err: unknown) => {
        if (isMissing(err)) return undefined;
        throw err;
      });
      if (info?.isDirectory()) yield { path, modifiedAt: info.mtime };
    }
  }

  /** rename(2), then the new entry (and any directory made for it) is fsynced before the move is answered. */
  async move(from: string, to: string): Promise<void> {
    const target = this.#file(to);
    try {
      const created = await mkdir(dirname(target), { recursive: true });
      await rename(this.#file(from), target);
      await this.#syncNewEntry(target, created);
    } catch (err) {
      throw isMissing(err) ? missingAsNotFound(err, from) : asStorageFull(err, this.root);
    }
  }

  async delete(path: string): Promise<void> {
    await rm(this.#file(path), { recursive: true, force: true });
  }

  async touch(path: string): Promise<boolean> {
    return touchFile(this.#file(path));
  }

  /**
   * Sets the file aside by rename, then reads its mtime: a touch before the rename shows there (the file is
   * put back), a touch after it finds no file. A checked-then-unlinked path would lose a file touched between
   * the check and the unlink.
   */
  async removeIfUnusedSince(path: string, cutoff: Date): Promise<boolean> {
    const file = this.#file(path);
    const aside = `${file}.gc-${randomUUID()}`;
    try {
      await rename(file, aside);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    let used = true;
    try {
      used = (await stat(aside)).mtime >= cutoff;
    } finally {
      if (used) await putBack(aside, file);
      else await unlink(aside);
    }
    return !used;
  }

  async recoverRemovals(prefix: string): Promise<number> {
    let restored = 0;
    for await (const { path } of this.list(prefix)) {
      const original = asidePattern.exec(path)?.[1];
      if (!original) continue;
      await putBack(this.#file(path), this.#file(original));
      restored++;
    }
    return restored;
  }

  /** Fsyncs the directory of a new entry and, when mkdir made directories for it, their parents down to it. */
  async #syncNewEntry(file: string, created: string | undefined): Promise<void> {
    const parent = dirname(file);
    await syncDir(parent);
    if (created === undefined) return;
    for (let dir = dirname(parent); ; dir = dirname(dir)) {
      await syncDir(dir);
      if (dir === dirname(created) || dir === dirname(dir)) return;
    }
  }

  #file(path: string): string {
    return join(this.root, this.#check(path));
  }

  /** Paths come from the BlobStore's layout; anything that could leave the root is a bug, refused here. */
  #check(path: string): string {
    const parts = path.split('/');
    if (path.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..' || p.includes('\0'))) {
      throw new Fault('invalid-argument', `invalid storage path ${JSON.stringify(path)}`);
    }
    return path;
  }
}

/** Returns a set-aside file to its path, unless one was put there meanwhile (a commit of the same digest). */
async function putBack(aside: string, path: string): Promise<void> {
  try {
    // link(2) never replaces: a file published meanwhile stays, and the aside copy (same bytes) goes.
    await link(aside, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  await unlink(aside);
}

async function listDir(path: string): Promise<{ name: string; dir: boolean }[]> {
  const entries: { name: string; dir: boolean }[] = [];
  try {
    for await (const entry of await opendir(path)) {
      if (entry.isDirectory() || entry.isFile()) entries.push({ name: entry.name, dir: entry.isDirectory() });
    }
  } catch (err) {
    if (!isMissing(err)) throw err;
  }
  return entries;
}

/** Makes a rename durable: the new directory entry is on disk before the caller is answered. */
async function syncDir(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

function missingAsNotFound(err: unknown, path: string): unknown {
  return isMissing(err) ? new Fault('not-found', `${path} does not exist`, { cause: err }) : err;
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
