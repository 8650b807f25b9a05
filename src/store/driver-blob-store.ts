import { Readable, type Writable } from 'node:stream';
import { Fault, isFault } from '../base/fault.ts';
import { parseDigest, type Digest } from '../oci/digest.ts';
import type { BlobInfo, BlobStore, BlobWriter, ByteRange, IngestInfo, StoredBlobInfo } from './blob-store.ts';
import { blobPath, blobPathDigest, blobsPrefix, ingestDataPath, ingestDir, ingestDirRef, ingestPathRef, ingestPrefix } from './blob-paths.ts';
import { resolveRange } from './byte-range.ts';
import { DriverBlobWriter } from './driver-blob-writer.ts';
import { InProcessIngestLocks, type IngestLocks } from './ingest-locks.ts';
import { assertIngestRef } from './ingest-ref.ts';
import type { StorageDriver, StorageSpan } from './storage-driver.ts';

export interface DriverBlobStoreOptions {
  driver: StorageDriver;
  /** One writer per ingest ref; the default guards this process only (replicas pass a shared one). */
  locks?: IngestLocks;
  /** Lifetime of the URLs redirectUrl hands out, for drivers that have them (s3). Default 1200 (distribution's). */
  redirectExpiresSeconds?: number;
}

/**
 * The one BlobStore, over any StorageDriver (as distribution's blob store over its storagedriver): digests,
 * the layout (blob-paths.ts), hashing while writing, verification and commit, the ingest lock, and garbage
 * collection's touch / deleteUnused through the driver. Commits publish by moving a finished ingest into place,
 * so an interrupted commit leaves at worst an ingest that resumes (or is aborted) like any other.
 */
export class DriverBlobStore implements BlobStore {
  readonly driver: StorageDriver;
  /** Present when the driver reads a file while it is written (StorageDriver.readsOpenWrites): not on s3. */
  readonly readIngest: ((ref: string, span: { offset: number; length: number }) => Promise<Readable>) | undefined;
  #locks: IngestLocks;
  #redirectExpiresSeconds: number;
  /** Writers open in this process, so abortIngest can stop one; the lock guards everyone else. */
  #open = new Map<string, Promise<DriverBlobWriter | undefined>>();

  constructor(options: DriverBlobStoreOptions) {
    this.driver = options.driver;
    this.#locks = options.locks ?? new InProcessIngestLocks();
    this.#redirectExpiresSeconds = options.redirectExpiresSeconds ?? 1200;
    this.readIngest = this.driver.readsOpenWrites ? (ref, span) => this.#readIngest(ref, span) : undefined;
  }

  /** The driver's presigned URL of the blob, when it has one (S3Driver with redirects enabled). */
  async redirectUrl(digest: string, method: 'GET' | 'HEAD'): Promise<string | undefined> {
    return this.driver.redirectUrl?.(blobPath(parseDigest(digest)), { method, expiresInSeconds: this.#redirectExpiresSeconds });
  }

  async stat(digest: string): Promise<BlobInfo | undefined> {
    const parsed = parseDigest(digest);
    const info = await this.driver.stat(blobPath(parsed));
    return info && { digest: parsed.value, size: info.size };
  }

  async read(digest: string, range?: ByteRange): Promise<Readable> {
    const parsed = parseDigest(digest);
    const span = await this.#span(parsed, range);
    return await this.driver.reader(blobPath(parsed), span).catch((err: unknown) => {
      throw asBlobUnknown(err, parsed.value);
    });
  }

  /** The blob GET's fast path: the driver writes straight into `sink` (docs/benchmarks.md, "Blob pull"). */
  async copyTo(digest: string, sink: Writable, options: { range?: ByteRange; signal?: AbortSignal } = {}): Promise<number> {
    const parsed = parseDigest(digest);
    const span = await this.#span(parsed, options.range);
    return await this.driver.copyTo(blobPath(parsed), sink, { span, signal: options.signal }).catch((err: unknown) => {
      throw asBlobUnknown(err, parsed.value);
    });
  }

  /** A range checked against the blob's size, as HTTP wants it (byte-range.ts); not-found when absent. */
  async #span(digest: Digest, range: ByteRange | undefined): Promise<StorageSpan | undefined> {
    if (range === undefined) return undefined;
    const info = await this.driver.stat(blobPath(digest));
    if (!info) throw blobUnknown(digest.value);
    return resolveRange(digest.value, info.size, range);
  }

  async ingest(ref: string): Promise<BlobWriter> {
    assertIngestRef(ref);
    if (this.#open.has(ref)) throw ingestHeld(ref);
    // Registered before the first await, so two racing calls in this process cannot both open the ref.
    const opening = this.#openWriter(ref);
    this.#open.set(ref, opening.catch(() => undefined));
    try {
      return await opening;
    } catch (err) {
      this.#open.delete(ref);
      throw err;
    }
  }

  async #openWriter(ref: string): Promise<DriverBlobWriter> {
    const release = await this.#locks.tryAcquire(ref);
    if (!release) throw ingestHeld(ref);
    return DriverBlobWriter.open({
      ref,
      driver: this.driver,
      onRelease: async () => {
        this.#open.delete(ref);
        await release();
      },
    });
  }

  /**
   * Checked against the ingest's size first: the driver's reader would end early at the end of the file, and
   * a caller asking for bytes the writer has not acknowledged has a bug.
   */
  async #readIngest(ref: string, span: { offset: number; length: number }): Promise<Readable> {
    assertIngestRef(ref);
    const { offset, length } = span;
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
      throw new Fault('invalid-argument', `ingest ${ref}: invalid span ${offset}+${length}`);
    }
    const path = ingestDataPath(ref);
    const info = await this.driver.stat(path);
    if (!info) throw ingestUnknown(ref);
    if (offset + length > info.size) {
      throw new Fault('out-of-range', `ingest ${ref} holds ${info.size} bytes, not ${offset}+${length}`, { detail: { size: info.size } });
    }
    if (length === 0) return Readable.from([]);
    return await this.driver.reader(path, { start: offset, end: offset + length - 1 }).catch((err: unknown) => {
      throw isFault(err, 'not-found') ? ingestUnknown(ref, err) : err;
    });
  }

  async ingestStatus(ref: string): Promise<{ offset: number } | undefined> {
    assertIngestRef(ref);
    const info = await this.driver.stat(ingestDataPath(ref));
    return info && { offset: info.size };
  }

  /**
   * Also a directory without bytes (fs: a commit interrupted between its move and the delete of the ingest's
   * directory), with offset 0, so that an upload purge removes it as it removes an abandoned ingest.
   */
  async *listIngests(): AsyncIterable<IngestInfo> {
    for await (const file of this.driver.list(ingestPrefix)) {
      const ref = ingestPathRef(file.path);
      if (ref) yield { ref, offset: file.size, updatedAt: file.modifiedAt };
    }
    for await (const dir of this.driver.emptyDirectories?.(ingestPrefix) ?? []) {
      const ref = ingestDirRef(dir.path);
      if (ref) yield { ref, offset: 0, updatedAt: dir.modifiedAt };
    }
  }

  async abortIngest(ref: string): Promise<void> {
    assertIngestRef(ref);
    await (await this.#open.get(ref))?.cancel();
    await this.driver.delete(ingestDir(ref));
  }

  async delete(digest: string): Promise<void> {
    const parsed = parseDigest(digest);
    const path = blobPath(parsed);
    if (!(await this.driver.stat(path))) throw blobUnknown(parsed.value);
    await this.driver.delete(path);
  }

  async *list(): AsyncIterable<StoredBlobInfo> {
    for await (const file of this.driver.list(blobsPrefix)) {
      const digest = blobPathDigest(file.path);
      if (digest) yield { digest: digest.value, size: file.size, usedAt: file.modifiedAt };
    }
  }

  async touch(digest: string): Promise<BlobInfo | undefined> {
    const parsed = parseDigest(digest);
    return (await this.driver.touch(blobPath(parsed))) ? this.stat(parsed.value) : undefined;
  }

  async deleteUnused(digest: string, cutoff: Date): Promise<boolean> {
    return this.driver.removeIfUnusedSince(blobPath(parseDigest(digest)), cutoff);
  }

  async recoverDeletes(): Promise<number> {
    return this.driver.recoverRemovals(blobsPrefix);
  }
}

function ingestHeld(ref: string): Fault {
  return new Fault('conflict', `ingest ${ref} is already open`, { code: 'BLOB_UPLOAD_INVALID' });
}

function ingestUnknown(ref: string, cause?: unknown): Fault {
  return new Fault('not-found', `ingest ${ref} not found`, { code: 'BLOB_UPLOAD_UNKNOWN', cause });
}

function blobUnknown(digest: string, cause?: unknown): Fault {
  return new Fault('not-found', `blob ${digest} not found`, { code: 'BLOB_UNKNOWN', cause });
}

/** The driver's not-found names a path; the store's caller wants the blob. */
function asBlobUnknown(err: unknown, digest: string): unknown {
  return isFault(err, 'not-found') ? blobUnknown(digest, err) : err;
}
