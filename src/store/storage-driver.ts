import type { Readable, Writable } from 'node:stream';

/**
 * A file of a driver. Paths are relative to the driver's root, '/'-separated, made by the BlobStore from
 * parsed digests and validated refs only (`blobs/sha256/ab/<hex>`, `ingest/<ref>/data`): never '..', never
 * absolute, never empty components.
 */
export interface StorageFileInfo {
  path: string;
  size: number;
  /** Last write or `touch`: what garbage collection calls "used at". */
  modifiedAt: Date;
}

export interface StorageDirInfo {
  path: string;
  modifiedAt: Date;
}

/** Inclusive byte span of a file; `end` undefined means to the end. */
export interface StorageSpan {
  start: number;
  end?: number;
}

/**
 * The small storage layer under the one BlobStore (DriverBlobStore), as distribution's storagedriver: it moves
 * bytes and knows nothing of digests, uploads or repositories. Every implementation passes
 * describeStorageDriver (storage-driver-conformance.ts). Absent paths answer undefined / false / no-op where
 * the method says so, and Fault 'not-found' elsewhere.
 */
export interface StorageDriver {
  /** 'filesystem', 'memory', 's3': named in logs and metrics. */
  readonly name: string;
  /**
   * Whether a `reader` opened while a writer is open sees every byte the writer's `size` counts (fs, memory:
   * writers append in place). False where those bytes become readable only after a commit or close (s3: parts
   * of a multipart upload are not objects): DriverBlobStore then has no `readIngest`.
   */
  readonly readsOpenWrites: boolean;
  /** A whole small file (at most `limit` bytes, else Fault 'invalid-argument'). */
  getContent(path: string, limit: number): Promise<Buffer>;
  /** Replaces the file atomically and durably: a reader sees the old or the new content, never a mix. */
  putContent(path: string, content: Uint8Array): Promise<void>;
  /** Streams the file or a span of it; the stream is bound to what existed when it opened. */
  reader(path: string, span?: StorageSpan): Promise<Readable>;
  /**
   * Writes a file's span into `sink` (an HTTP response), waiting for each write's callback before reusing its
   * buffer: the blob GET's fast path (docs/benchmarks.md, "Blob pull"). Resolves when the last byte was
   * handed to the sink (which it does not end); rejects when the sink or the file fails, or `signal` aborts.
   */
  copyTo(path: string, sink: Writable, options: { span?: StorageSpan; signal?: AbortSignal }): Promise<number>;
  /**
   * Opens the file for appending: `append` true continues after the bytes already written (also written by
   * another process or replica; an absent file starts empty), false starts it empty. While a writer is open,
   * its latest bytes may not yet be visible at `path` to `reader`/`stat` on drivers that cannot append in place
   * (s3); fs appends in place. After `commit` they are; after `close`, once a writer has opened the file again
   * (s3 completes its upload then): DriverBlobStore re-hashes them after that open.
   */
  writer(path: string, options: { append: boolean }): Promise<StorageWriter>;
  stat(path: string): Promise<StorageFileInfo | undefined>;
  /** Every file under the directory `prefix` (recursively), in byte order of their paths. */
  list(prefix: string): AsyncIterable<StorageFileInfo>;
  /**
   * Directories under `prefix` (recursively) that hold nothing, with their last change: only drivers with real
   * directories (fs) have them, e.g. left by a crash between a move and the delete of its directory. Absent
   * where a prefix without files does not exist (s3, memory).
   */
  emptyDirectories?(prefix: string): AsyncIterable<StorageDirInfo>;
  /** Renames, replacing `to`: atomic on fs; copy then delete where the backend has no rename (s3). */
  move(from: string, to: string): Promise<void>;
  /** Removes a file, or every file under a directory prefix. No-op when absent. */
  delete(path: string): Promise<void>;
  /** Sets modifiedAt to now; false when absent. */
  touch(path: string): Promise<boolean>;
  /**
   * Garbage collection's delete: removes the file unless it was modified or touched at or after `cutoff`,
   * also when a `touch` races it (that touch then returns false, or the file stays). False when kept or absent.
   * Drivers that must set the file aside to decide leave it where `recoverRemovals` finds it after a crash.
   */
  removeIfUnusedSince(path: string, cutoff: Date): Promise<boolean>;
  /** Puts back the files a crashed `removeIfUnusedSince` set aside under `prefix`; how many. */
  recoverRemovals(prefix: string): Promise<number>;
  /** A URL the client may GET the file from directly (s3 presigned), undefined when the driver has none. */
  redirectUrl?(path: string, options: { method: 'GET' | 'HEAD'; expiresInSeconds: number }): Promise<string | undefined>;
}

export interface StorageWriter {
  readonly path: string;
  /** Bytes written so far (including those from before an append). */
  readonly size: number;
  /**
   * Appends the source with back-pressure; resolves with the new size. On a source error or abort, the bytes
   * the driver acknowledged stay (size says how many) and the promise rejects. Once it settled, the writer holds
   * no reference to the source's chunks: their memory may be reused (the mirror writes from reused slabs).
   */
  write(source: AsyncIterable<Uint8Array> | Readable, options?: { signal?: AbortSignal }): Promise<number>;
  /** Makes every byte written durable and the file complete at `path` (modifiedAt: now); the writer is done. */
  commit(): Promise<void>;
  /** Releases the writer, keeping the bytes for a later `writer(path, { append: true })`. */
  close(): Promise<void>;
  /** Releases the writer and drops the file. */
  cancel(): Promise<void>;
}
