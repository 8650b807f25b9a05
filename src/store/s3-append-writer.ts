import { Readable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { AbortableSource } from './abortable-source.ts';
import { S3Bucket, type S3Part } from './s3-bucket.ts';
import { copyRanges } from './s3-copy.ts';
import { s3Fault } from './s3-errors.ts';
import type { S3Keys } from './s3-keys.ts';
import type { StorageWriter } from './storage-driver.ts';

/** S3's smallest part, except the last one of an upload. */
export const minPartBytes = 5 * 1024 * 1024;
/** Metadata of the tail object: how many bytes of the file come before it. */
const offsetKey = 'wharf-offset';

interface InflightPart {
  upload: Promise<S3Part>;
  buffer: Buffer;
  bytes: number;
  /** The settled bytes at its start that were the buffer's (#skip) when it left. */
  skip: number;
}

export interface S3AppendTarget {
  bucket: S3Bucket;
  keys: S3Keys;
  path: string;
  /** Bytes buffered before a part is uploaded (at least minPartBytes): the writer's memory bound. */
  partSize: number;
}

/**
 * An appendable file on S3, which has no append: the file is (settled bytes) + (parts of one multipart
 * upload) + (a tail of less than one part), and everything needed to continue it lives in the bucket, so a
 * writer opened later, by another process or replica, picks it up (S3Keys names the objects):
 *   - settled bytes: the object `append/<path>`, a completed multipart upload (readable);
 *   - the upload in progress, on the same key: its first parts are server-side copies of the settled bytes,
 *     then parts of `partSize` bytes as they fill (S3 wants at least 5 MiB but the last);
 *   - the tail: the object `tail/<path>`, rewritten at the end of every `write`, with metadata `offset` = the
 *     bytes before it. A tail is current only when `offset` equals the settled size after the upload is
 *     completed: a crash after a part upload and before the next tail leaves an older tail whose bytes are in
 *     that part, and it is ignored.
 * `close` completes the upload into the settled object, and opening with append completes one a killed writer
 * left, so the bytes written so far can be read back (DriverBlobStore re-hashes them). `commit` completes the
 * upload and copies the settled object to `<path>` (a server-side copy: on radosgw a reference, not the bytes).
 * Opening a committed `<path>` to append makes it the settled bytes and deletes it, so readers and stat never
 * prefer it over the bytes appended after.
 * Between writes the part buffer is dropped (its bytes are in the bucket: the tail, and settled bytes under one
 * part) and read back by the next write or the commit: an idle writer holds no part-sized buffer.
 */
export class S3AppendWriter implements StorageWriter {
  readonly path: string;
  readonly #bucket: S3Bucket;
  readonly #partSize: number;
  readonly #key: string;
  readonly #settledKey: string;
  readonly #tailKey: string;
  #uploadId: string | undefined;
  #parts: S3Part[] = [];
  #partsSize = 0;
  /** Bytes in the settled object that the upload does not hold (yet). */
  #baseSize = 0;
  /** Leading buffered bytes that are the settled object's own (read back when under one part). */
  #skip = 0;
  /**
   * The part being filled, reused for every part of a write: the writer's memory bound. Undefined between
   * writes: the #buffered bytes are then the first #skip bytes of the settled object and the tail (#load).
   */
  #part: Buffer | undefined;
  #buffered = 0;
  /** The part being uploaded while the next one fills: one at a time, so a write holds two part buffers. */
  #inflight: InflightPart | undefined;
  /** The buffer of the last part uploaded, reused for the one after next. */
  #spare: Buffer | undefined;
  /** Buffered bytes the tail object does not hold yet. */
  #dirty = false;
  #writing: Promise<unknown> | undefined;
  #abort = new AbortController();
  #released = false;

  private constructor(target: S3AppendTarget) {
    this.path = target.path;
    this.#bucket = target.bucket;
    this.#partSize = target.partSize;
    this.#key = target.keys.key(target.path);
    this.#settledKey = target.keys.hidden('append', target.path);
    this.#tailKey = target.keys.hidden('tail', target.path);
  }

  static async open(target: S3AppendTarget, options: { append: boolean }): Promise<S3AppendWriter> {
    const writer = new S3AppendWriter(target);
    try {
      if (options.append) await writer.#resume();
      else await writer.#reset();
      if (writer.#dirty) await writer.#saveTail();
    } catch (err) {
      throw s3Fault(err, `${target.path}: opening for writing`);
    }
    return writer;
  }

  get size(): number {
    return this.#durable() + (this.#inflight?.bytes ?? 0) + this.#buffered - this.#skip;
  }

  write(source: AsyncIterable<Uint8Array> | Readable, options: { signal?: AbortSignal } = {}): Promise<number> {
    if (this.#released) return Promise.reject(this.#gone());
    if (this.#writing) return Promise.reject(new Fault('conflict', `${this.path}: a write is already in progress`));
    const writing = this.#write(source, options.signal).finally(() => {
      this.#writing = undefined;
    });
    this.#writing = writing;
    return writing;
  }

  async commit(): Promise<void> {
    this.#live();
    if (this.#writing) throw new Fault('conflict', `${this.path}: cannot commit while a write is in progress`);
    try {
      await this.#publish();
      await Promise.all([this.#bucket.delete(this.#settledKey), this.#bucket.delete(this.#tailKey)]);
    } catch (err) {
      throw s3Fault(err, `${this.path}: commit`);
    }
    this.#released = true;
  }

  /** Saves the tail and completes the upload: the bytes are then readable through S3Driver.reader. */
  async close(): Promise<void> {
    if (this.#released) return;
    await this.#stopWriting(`${this.path} was closed during a write`);
    this.#released = true;
    try {
      if (this.#dirty) await this.#saveTail();
      if (this.#uploadId) await this.#settleOwn();
    } catch (err) {
      throw s3Fault(err, `${this.path}: closing`);
    } finally {
      this.#part = undefined;
    }
  }

  async cancel(): Promise<void> {
    if (this.#released) return;
    await this.#stopWriting(`${this.path} was cancelled during a write`);
    this.#released = true;
    try {
      await this.#abortUploads();
      await Promise.all([this.#key, this.#settledKey, this.#tailKey].map((key) => this.#bucket.delete(key)));
    } catch (err) {
      throw s3Fault(err, `${this.path}: cancel`);
    }
  }

  async #write(source: AsyncIterable<Uint8Array> | Readable, signal: AbortSignal | undefined): Promise<number> {
    const input = new AbortableSource(source, AbortSignal.any([this.#abort.signal, ...(signal ? [signal] : [])]));
    let failure: unknown;
    try {
      await this.#load();
      for (let chunk = await input.next(); chunk !== undefined; chunk = await input.next()) {
        for (let at = 0; at < chunk.byteLength;) {
          at += this.#append(chunk.subarray(at));
          this.#dirty = true;
          if (this.#buffered >= this.#partSize) await this.#flushPart();
        }
      }
    } catch (err) {
      input.stop();
      failure = err;
    }
    await this.#landInflight().catch((err: unknown) => { failure ??= err; });
    // What arrived stays resumable, also when the source failed: the tail holds what no part holds.
    if (this.#dirty) await this.#saveTail().catch((err: unknown) => { failure ??= err; });
    // Idle until the next write: the bucket holds what the buffer does (a tail that failed keeps it here).
    if (!this.#dirty) this.#part = undefined;
    this.#spare = undefined;
    if (failure !== undefined) throw s3Fault(failure, `${this.path}: write`);
    return this.size;
  }

  /** Copies what fits of `bytes` into the part; how many bytes it took. */
  #append(bytes: Uint8Array): number {
    this.#part ??= Buffer.allocUnsafe(this.#partSize);
    const take = Math.min(bytes.byteLength, this.#part.byteLength - this.#buffered);
    this.#part.set(bytes.subarray(0, take), this.#buffered);
    this.#buffered += take;
    return take;
  }

  #filled(): Buffer {
    if (!this.#part && this.#buffered > 0) throw new Fault('internal', `${this.path}: its buffered bytes were not loaded`);
    return (this.#part ?? Buffer.alloc(0)).subarray(0, this.#buffered);
  }

  /** The tail's bytes: none when the buffer was dropped with only settled bytes in it (an open, an adopt). */
  #tailBytes(): Buffer {
    return this.#part || this.#buffered > this.#skip ? this.#filled().subarray(this.#skip) : Buffer.alloc(0);
  }

  /**
   * Reads the buffered bytes back into a part buffer after the writer was idle (or opened): the settled
   * bytes it holds (#skip, under one part) and the tail. A part size lowered since may need more room.
   */
  async #load(): Promise<void> {
    if (this.#part || this.#buffered === 0) return;
    const part = Buffer.allocUnsafe(Math.max(this.#partSize, this.#buffered));
    let at = 0;
    const copyIn = async (body: Readable): Promise<void> => {
      for await (const chunk of body) {
        const bytes = chunk as Buffer;
        if (at + bytes.byteLength > this.#buffered) break;
        part.set(bytes, at);
        at += bytes.byteLength;
      }
    };
    if (this.#skip > 0) {
      const settled = await this.#bucket.get(this.#settledKey, { start: 0, end: this.#skip - 1 });
      if (settled) await copyIn(settled.body);
    }
    const tail = this.#skip < this.#buffered ? await this.#bucket.get(this.#tailKey) : undefined;
    if (tail && Number(tail.metadata[offsetKey]) === this.#durable()) await copyIn(tail.body);
    else tail?.body.destroy();
    if (at !== this.#buffered) throw new Fault('unavailable', `${this.path}: its bytes in the bucket changed under this writer (another writer?)`);
    this.#part = part;
  }

  #durable(): number {
    return this.#uploadId ? this.#partsSize : this.#baseSize;
  }

  /**
   * Starts uploading the buffer as the next part (starting the upload, with the settled bytes copied in, if
   * needed) and goes on filling the spare buffer: the socket and the source both keep moving. The part before
   * must have landed first, so parts complete in order and a failure is met at the next flush or the write's end.
   */
  async #flushPart(): Promise<void> {
    await this.#landInflight();
    const body = this.#filled();
    if (!this.#uploadId) await this.#startUpload();
    const upload = this.#bucket.uploadPart(this.#settledKey, this.#uploadId ?? '', this.#parts.length + 1, body);
    // Observed by #landInflight; this keeps a failure that lands later from being reported as unhandled.
    upload.catch(() => {});
    this.#inflight = { upload, buffer: this.#part ?? body, bytes: body.byteLength, skip: this.#skip };
    this.#part = this.#spare;
    this.#spare = undefined;
    this.#buffered = 0;
    this.#skip = 0;
  }

  /**
   * Waits for the part in flight. Landed, it counts as durable and its buffer becomes the spare; failed, its
   * bytes go back in front of the buffered ones (the tail then holds them all), as if it had never left.
   */
  async #landInflight(): Promise<void> {
    const inflight = this.#inflight;
    if (!inflight) return;
    this.#inflight = undefined;
    try {
      this.#parts.push(await inflight.upload);
      this.#partsSize += inflight.bytes;
      this.#spare = inflight.buffer;
    } catch (err) {
      const merged = Buffer.allocUnsafe(Math.max(this.#partSize, inflight.bytes + this.#buffered));
      inflight.buffer.copy(merged, 0, 0, inflight.bytes);
      this.#part?.copy(merged, inflight.bytes, 0, this.#buffered);
      this.#part = merged;
      this.#buffered += inflight.bytes;
      this.#skip = inflight.skip;
      throw err;
    }
  }

  async #startUpload(): Promise<void> {
    const uploadId = await this.#bucket.createUpload(this.#settledKey);
    const parts: S3Part[] = [];
    try {
      // Settled bytes read back into the buffer (#skip) go up with it; larger ones are copied server-side.
      if (this.#skip === 0) {
        for (const range of this.#baseSize > 0 ? copyRanges(this.#baseSize) : []) {
          parts.push(await this.#bucket.uploadPartCopy(this.#settledKey, uploadId, parts.length + 1, { key: this.#settledKey, ...range }));
        }
      }
    } catch (err) {
      await this.#bucket.abortUpload(this.#settledKey, uploadId).catch(() => {});
      throw err;
    }
    this.#uploadId = uploadId;
    this.#parts = parts;
    this.#partsSize = this.#skip === 0 ? this.#baseSize : 0;
  }

  async #saveTail(): Promise<void> {
    const body = this.#tailBytes();
    await this.#bucket.put(this.#tailKey, body, { ...S3Bucket.mtime(), [offsetKey]: String(this.#durable()) });
    this.#dirty = false;
  }

  /** Makes the whole file the object at `<path>`. */
  async #publish(): Promise<void> {
    await this.#load();
    const metadata = S3Bucket.mtime();
    if (!this.#uploadId && (this.#baseSize === 0 || this.#skip > 0)) {
      await this.#bucket.put(this.#key, this.#filled(), metadata);
      return;
    }
    if (!this.#uploadId && this.#buffered === 0) {
      await this.#bucket.copy(this.#settledKey, this.#key, this.#baseSize, { metadata });
      return;
    }
    if (this.#buffered > 0) await this.#flushPart();
    await this.#landInflight();
    await this.#bucket.completeUpload(this.#settledKey, this.#uploadId ?? '', this.#parts);
    this.#uploadId = undefined;
    await this.#bucket.copy(this.#settledKey, this.#key, this.#partsSize, { metadata });
  }

  /** append: false — the file starts empty, whatever was there. */
  async #reset(): Promise<void> {
    await this.#abortUploads();
    await Promise.all([this.#bucket.delete(this.#key), this.#bucket.delete(this.#settledKey)]);
    this.#dirty = true;
  }

  /** The buffered bytes (settled ones under one part, then a current tail) stay in the bucket until #load. */
  async #resume(): Promise<void> {
    await this.#settle();
    if (await this.#adopt()) return;
    const settled = await this.#bucket.head(this.#settledKey);
    this.#baseSize = settled?.size ?? 0;
    if (this.#baseSize < minPartBytes) this.#buffered = this.#skip = this.#baseSize;
    const tail = await this.#bucket.head(this.#tailKey);
    if (tail && Number(tail.metadata[offsetKey]) === this.#baseSize) this.#buffered += tail.size;
    else this.#dirty = true;
  }

  /**
   * Completes a multipart upload left by a writer that was killed into the settled object, and aborts any
   * other (a start that failed before its tail).
   */
  async #settle(): Promise<void> {
    const found = [];
    for await (const upload of this.#bucket.uploads(this.#settledKey)) if (upload.key === this.#settledKey) found.push(upload);
    found.sort((a, b) => b.initiated.getTime() - a.initiated.getTime());
    let completed = false;
    for (const upload of found) {
      const parts = completed ? [] : await this.#bucket.parts(upload.key, upload.uploadId);
      if (parts.length > 0) {
        await this.#bucket.completeUpload(upload.key, upload.uploadId, parts);
        completed = true;
      } else {
        await this.#bucket.abortUpload(upload.key, upload.uploadId);
      }
    }
  }

  /** Completes this writer's upload into the settled object (the tail's offset already counts its parts). */
  async #settleOwn(): Promise<void> {
    const uploadId = this.#uploadId ?? '';
    this.#uploadId = undefined;
    // No parts: its first part failed, and the settled object still holds what the tail's offset does not.
    if (this.#parts.length === 0) return this.#bucket.abortUpload(this.#settledKey, uploadId);
    await this.#bucket.completeUpload(this.#settledKey, uploadId, this.#parts);
  }

  /**
   * Appending to a committed file (also one whose commit crashed before the blob store moved it): it becomes
   * the settled bytes with an empty tail after them, then the committed object is deleted, so the bytes
   * appended later are the file's for readers and stat too. The committed object wins over any append state
   * beside it: both exist only after a crash in a commit (the object is the newer, whole file) or in here
   * (they hold the same bytes). True when there was one.
   */
  async #adopt(): Promise<boolean> {
    const committed = await this.#bucket.head(this.#key);
    if (!committed) return false;
    await this.#bucket.copy(this.#key, this.#settledKey, committed.size);
    this.#baseSize = committed.size;
    if (committed.size < minPartBytes) this.#buffered = this.#skip = committed.size;
    await this.#saveTail();
    await this.#bucket.delete(this.#key);
    return true;
  }

  async #abortUploads(): Promise<void> {
    for await (const upload of this.#bucket.uploads(this.#settledKey)) {
      if (upload.key === this.#settledKey) await this.#bucket.abortUpload(upload.key, upload.uploadId);
    }
    this.#uploadId = undefined;
  }

  async #stopWriting(reason: string): Promise<void> {
    this.#abort.abort(new Fault('conflict', reason));
    await this.#writing?.catch(() => {});
  }

  #live(): void {
    if (this.#released) throw this.#gone();
  }

  #gone(): Fault {
    return new Fault('failed-precondition', `${this.path} is no longer open for writing`);
  }
}
