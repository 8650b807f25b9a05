import { randomUUID } from 'node:crypto';
import { link, opendir, open, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { parseDigest, type Digest } from '../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange, IngestInfo, StoredBlobInfo } from './blob-store.ts';
import { resolveRange } from './byte-range.ts';
import { FsBlobWriter } from './fs-blob-writer.ts';
import { FsLayout } from './fs-layout.ts';
import { touchFile } from './fs-touch.ts';
import { assertIngestRef } from './ingest-ref.ts';

// A blob set aside by deleteUnused: `<hex>.gc-<uuid>` in its shard, a name list() never takes for a blob.
const asidePattern = /^([0-9a-f]+)\.gc-[0-9a-f-]{36}$/;

// Large reads halve the per-chunk overhead of a blob GET (measured: 0.9 -> 1.5 GB/s to curl for 1 GiB); one
// buffer per concurrent pull is the price.
const readHighWaterMark = 4 * 1024 * 1024;

export interface FsBlobStoreOptions {
  /** The data root: blobs in <root>/blobs/, ingests in <root>/ingest/ (see FsLayout). */
  root: string;
}

/**
 * The default BlobStore: content-addressed files published by atomic rename from ingest/. Commits never use
 * temporary files under blobs/, so an interrupted commit leaves nothing to clean there: at worst an ingest
 * that resumes (or is aborted) like any other.
 */
export class FsBlobStore implements BlobStore {
  readonly layout: FsLayout;
  /** One writer per ref in this process; another process sharing the root is not guarded against. */
  #held = new Map<string, Promise<FsBlobWriter>>();

  constructor(options: FsBlobStoreOptions) {
    this.layout = new FsLayout(options.root);
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const parsed = parseDigest(digest);
    try {
      const info = await stat(this.layout.blobPath(parsed));
      return info.isFile() ? { digest: parsed.value, size: info.size } : undefined;
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    const parsed = parseDigest(digest);
    // Open first: a concurrent delete after this point cannot cut the stream short.
    const fh = await open(this.layout.blobPath(parsed), 'r').catch((err: unknown) => {
      throw isMissing(err) ? blobUnknown(parsed.value, err) : err;
    });
    try {
      const { size } = await fh.stat();
      const span = resolveRange(parsed.value, size, range);
      const start = span?.start ?? 0;
      const end = span?.end ?? size - 1;
      // Each read allocates a whole highWaterMark: a 1 KiB manifest must not cost a 4 MiB buffer.
      const highWaterMark = Math.max(Math.min(readHighWaterMark, end - start + 1), 1);
      return fh.createReadStream({ start, end: Math.max(end, start), highWaterMark });
    } catch (err) {
      await fh.close();
      throw err;
    }
  }

  async ingest(ref: string): Promise<BlobWriter> {
    assertIngestRef(ref);
    if (this.#held.has(ref)) throw new Fault('conflict', `ingest ${ref} is already open`, { code: 'BLOB_UPLOAD_INVALID' });
    // Registered before the first await, so two racing calls cannot both open the ref.
    const opening = FsBlobWriter.open({ ref, layout: this.layout, onRelease: () => this.#held.delete(ref) });
    this.#held.set(ref, opening);
    try {
      return await opening;
    } catch (err) {
      this.#held.delete(ref);
      throw err;
    }
  }

  async ingestStatus(ref: string): Promise<{ offset: number } | undefined> {
    assertIngestRef(ref);
    try {
      return { offset: (await stat(this.layout.ingestData(ref))).size };
    } catch (err) {
      if (!isMissing(err)) throw err;
    }
    // A commit interrupted between rename and cleanup leaves an empty ingest directory.
    const dir = await stat(this.layout.ingestDir(ref)).catch(() => undefined);
    return dir?.isDirectory() ? { offset: 0 } : undefined;
  }

  async *listIngests(): AsyncIterable<IngestInfo> {
    for (const ref of await listDir(this.layout.ingestRoot)) {
      const data = await stat(this.layout.ingestData(ref)).catch(() => undefined);
      const dir = data ? undefined : await stat(this.layout.ingestDir(ref)).catch(() => undefined);
      if (data) yield { ref, offset: data.size, updatedAt: data.mtime };
      else if (dir?.isDirectory()) yield { ref, offset: 0, updatedAt: dir.mtime };
    }
  }

  async abortIngest(ref: string): Promise<void> {
    assertIngestRef(ref);
    const held = this.#held.get(ref);
    if (held) {
      await (await held.catch(() => undefined))?.cancel();
    }
    await rm(this.layout.ingestDir(ref), { recursive: true, force: true });
  }

  async delete(digest: string): Promise<void> {
    const parsed = parseDigest(digest);
    try {
      await unlink(this.layout.blobPath(parsed));
    } catch (err) {
      throw isMissing(err) ? blobUnknown(parsed.value, err) : err;
    }
  }

  async *list(): AsyncIterable<StoredBlobInfo> {
    for await (const { algorithm, shard, name } of this.#shardEntries()) {
      const digest = blobDigest(algorithm, shard, name);
      const info = digest && (await stat(this.layout.blobPath(digest)).catch(() => undefined));
      if (digest && info?.isFile()) yield { digest: digest.value, size: info.size, usedAt: info.mtime };
    }
  }

  async touch(digest: string): Promise<BlobInfo | undefined> {
    const parsed = parseDigest(digest);
    return (await touchFile(this.layout.blobPath(parsed))) ? this.stat(parsed.value) : undefined;
  }

  /**
   * Sets the file aside by rename, then reads its mtime: a touch before the rename shows there (the file is
   * put back), a touch after it finds no file (its caller treats the blob as absent). A checked-then-unlinked
   * path would lose a blob touched between the check and the unlink.
   */
  async deleteUnused(digest: string, cutoff: Date): Promise<boolean> {
    const path = this.layout.blobPath(parseDigest(digest));
    const aside = `${path}.gc-${randomUUID()}`;
    try {
      await rename(path, aside);
    } catch (err) {
      if (isMissing(err)) return false;
      throw err;
    }
    let used = true;
    try {
      used = (await stat(aside)).mtime >= cutoff;
    } finally {
      if (used) await putBack(aside, path);
      else await unlink(aside);
    }
    return !used;
  }

  async recoverDeletes(): Promise<number> {
    let restored = 0;
    for await (const { algorithm, shard, name } of this.#shardEntries()) {
      const hex = asidePattern.exec(name)?.[1];
      const digest = hex ? blobDigest(algorithm, shard, hex) : undefined;
      if (!digest) continue;
      await putBack(join(this.layout.blobsDir, algorithm, shard, name), this.layout.blobPath(digest));
      restored++;
    }
    return restored;
  }

  async *#shardEntries(): AsyncIterable<{ algorithm: string; shard: string; name: string }> {
    for (const algorithm of await listDir(this.layout.blobsDir)) {
      for (const shard of await listDir(join(this.layout.blobsDir, algorithm))) {
        for (const name of await listDir(join(this.layout.blobsDir, algorithm, shard))) yield { algorithm, shard, name };
      }
    }
  }
}

/** Returns a set-aside blob to its path, unless a commit published the same digest there meanwhile. */
async function putBack(aside: string, path: string): Promise<void> {
  try {
    // link(2) never replaces: a blob published meanwhile stays, and the aside copy (same bytes) goes.
    await link(aside, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  await unlink(aside);
}

/** The digest a blobs/<alg>/<shard>/<name> path stands for, or undefined for anything else found there. */
function blobDigest(algorithm: string, shard: string, name: string): Digest | undefined {
  try {
    const digest = parseDigest(`${algorithm}:${name}`);
    return digest.hex.startsWith(shard) && shard.length === 2 ? digest : undefined;
  } catch {
    return undefined;
  }
}

async function listDir(path: string): Promise<string[]> {
  const names: string[] = [];
  try {
    for await (const entry of await opendir(path)) names.push(entry.name);
  } catch (err) {
    if (!isMissing(err) && (err as NodeJS.ErrnoException).code !== 'ENOTDIR') throw err;
  }
  return names.sort();
}

function blobUnknown(digest: string, cause: unknown): Fault {
  return new Fault('not-found', `blob ${digest} not found`, { code: 'BLOB_UNKNOWN', cause });
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
