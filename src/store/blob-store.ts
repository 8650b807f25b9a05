import type { Readable, Writable } from 'node:stream';

export interface BlobInfo {
  /** `algorithm:hex` */
  digest: string;
  size: number;
}

/** Inclusive byte range, as in HTTP `Range: bytes=start-end`. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Content-addressed blob storage. Bytes become visible only through `BlobWriter.commit`, which verifies size
 * and digest, makes the data durable and publishes it atomically. Knows nothing of repositories.
 */
export interface BlobStore {
  /** undefined when absent. Digest strings are validated by the caller (oci/digest) and again here. */
  stat(digest: string): Promise<BlobInfo | undefined>;
  /** Streams the blob (or a range of it). Throws Fault not-found (code BLOB_UNKNOWN) when absent, out-of-range for a bad range. */
  read(digest: string, range?: ByteRange): Promise<Readable>;
  /**
   * The blob GET's fast path, where the store has one: writes the blob (or a range of it) into `sink` without
   * ending it, resolving with the bytes written once the last write's callback fired. Faults as `read`; rejects
   * when the sink fails or closes, or `signal` aborts.
   */
  copyTo?(digest: string, sink: Writable, options?: { range?: ByteRange; signal?: AbortSignal }): Promise<number>;
  /** A URL the client may fetch the blob from directly (a presigned S3 URL); undefined when the store has none. */
  redirectUrl?(digest: string, method: 'GET' | 'HEAD'): Promise<string | undefined>;
  /**
   * Opens the ingest `ref` (an upload id: [a-zA-Z0-9_-]{1,128}), creating it or resuming it with the bytes
   * already written (also after a restart). One writer per ref at a time: a second open while the first is
   * still held throws Fault conflict.
   */
  ingest(ref: string): Promise<BlobWriter>;
  /**
   * The bytes [offset, offset + length) of an open or abandoned ingest, while its writer may still append
   * (a pull-through fetch's followers read what the writer holds: its `offset` counts readable bytes). Throws
   * not-found (code BLOB_UPLOAD_UNKNOWN) when the ingest is absent, out-of-range when it holds fewer bytes.
   * Absent where the storage cannot read an ingest while it is written (s3): wait for the commit instead.
   */
  readIngest?(ref: string, span: { offset: number; length: number }): Promise<Readable>;
  /** Size already written to an open or abandoned ingest, undefined when the ref does not exist. */
  ingestStatus(ref: string): Promise<{ offset: number } | undefined>;
  /** Every ingest, open or abandoned, with its size and last write: what an upload purge looks at. */
  listIngests(): AsyncIterable<IngestInfo>;
  /** Drops an ingest and its bytes. No-op when absent. */
  abortIngest(ref: string): Promise<void>;
  /** Removes a blob. Throws not-found when absent. */
  delete(digest: string): Promise<void>;
  /** Every committed blob with its last use, for garbage collection and checks. */
  list(): AsyncIterable<StoredBlobInfo>;
  /**
   * Marks the blob as used now and returns it; undefined when absent. Whoever makes a new reference to a blob
   * already stored (a manifest naming it, a mount, an engine reusing a layer) touches it first and treats
   * undefined as absent: garbage collection never removes a blob touched after its collection's cutoff.
   */
  touch(digest: string): Promise<BlobInfo | undefined>;
  /**
   * Garbage collection's delete: removes the blob unless it was used at or after `cutoff`, also when a touch or
   * a commit of the same digest races it (that touch then finds the blob absent, or the blob stays). False when
   * kept or absent.
   */
  deleteUnused(digest: string, cutoff: Date): Promise<boolean>;
  /** Puts back blobs a `deleteUnused` interrupted by a crash had set aside; a collection starts with it. */
  recoverDeletes(): Promise<number>;
}

/** A stored blob with its last use: its commit, or the last touch or commit of the same digest. */
export interface StoredBlobInfo extends BlobInfo {
  usedAt: Date;
}

export interface IngestInfo {
  ref: string;
  offset: number;
  /** When bytes were last written (or the ingest was created). */
  updatedAt: Date;
}

export interface BlobWriter {
  readonly ref: string;
  /** Bytes written so far. */
  readonly offset: number;
  /**
   * Appends a stream with back-pressure, hashing as it writes. Resolves with the new offset. When the source
   * errors or is aborted, what reached disk stays (the upload can resume) and the promise rejects. Once it settled,
   * nothing holds the source's chunks any more: their memory may be reused (StorageWriter.write).
   */
  write(source: AsyncIterable<Uint8Array> | Readable, options?: { signal?: AbortSignal; limit?: number }): Promise<number>;
  /** Digest of the bytes written so far. */
  digest(algorithm?: 'sha256' | 'sha512'): Promise<string>;
  /**
   * Verifies (Fault invalid-argument code DIGEST_INVALID on mismatch, SIZE_INVALID on size mismatch), fsyncs,
   * renames into place and releases the writer. Committing a digest that already exists succeeds and discards
   * the ingest. The ingest is gone afterwards either way, except on a mismatch, where it is dropped too.
   */
  commit(expected: { digest: string; size?: number }): Promise<BlobInfo>;
  /** Releases the writer, keeping the bytes for a later resume. */
  close(): Promise<void>;
  /** Releases the writer and drops the bytes. */
  cancel(): Promise<void>;
}
