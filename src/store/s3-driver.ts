import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { Readable, type Writable } from 'node:stream';
import { Fault } from '../base/fault.ts';
import { minPartBytes, S3AppendWriter } from './s3-append-writer.ts';
import { S3Bucket, type S3ObjectInfo } from './s3-bucket.ts';
import { isS3NotFound, isS3PreconditionFailed, s3Fault } from './s3-errors.ts';
import { type HiddenArea, S3Keys } from './s3-keys.ts';
import { copyToSink } from './s3-sink.ts';
import type { StorageDriver, StorageFileInfo, StorageSpan, StorageWriter } from './storage-driver.ts';

export interface S3DriverOptions {
  client: S3Client;
  bucket: string;
  /** Keys are `<prefix>/<path>`; empty for the bucket's root. */
  prefix?: string;
  /** Bytes an appendable writer buffers per multipart part (default 10 MiB, at least 5 MiB). */
  partSize?: number;
  /** Whether redirectUrl hands out presigned URLs (blob GETs then go to S3 directly). */
  redirect?: boolean;
}

const defaultPartSize = 10 * 1024 * 1024;

/**
 * A StorageDriver over one S3 bucket (AWS SDK v3; tested against Ceph radosgw): ranged GETs, appendable
 * writers as multipart uploads resumable from any process (S3AppendWriter), moves and touches as server-side
 * copies, presigned redirects. S3 has no rename, so what the filesystem does atomically is done here in steps;
 * each method says what a crash or a race between them can leave.
 */
export class S3Driver implements StorageDriver {
  readonly name = 's3';
  readonly readsOpenWrites = false;
  readonly #bucket: S3Bucket;
  readonly #keys: S3Keys;
  readonly #partSize: number;
  readonly #redirect: boolean;

  constructor(options: S3DriverOptions) {
    this.#bucket = new S3Bucket(options.client, options.bucket);
    this.#keys = new S3Keys(options.prefix ?? '');
    this.#partSize = Math.max(options.partSize ?? defaultPartSize, minPartBytes);
    this.#redirect = options.redirect ?? false;
  }

  async getContent(path: string, limit: number): Promise<Buffer> {
    const object = await this.#call(path, () => this.#bucket.get(this.#keys.key(path)));
    if (!object) throw notFound(path);
    if (object.size > limit) {
      object.body.destroy();
      throw new Fault('invalid-argument', `${path} holds ${object.size} bytes, more than the ${limit} asked for`);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of object.body) chunks.push(chunk as Buffer);
    return Buffer.concat(chunks);
  }

  /** One PutObject: S3 replaces an object atomically. */
  async putContent(path: string, content: Uint8Array): Promise<void> {
    await this.#call(path, () => this.#bucket.put(this.#keys.key(path), content));
  }

  async reader(path: string, span?: StorageSpan): Promise<Readable> {
    const object = await this.#call(path, () => this.#bucket.get(this.#keys.key(path), span));
    if (object) return object.body;
    return this.#inProgressReader(path, span);
  }

  async copyTo(path: string, sink: Writable, options: { span?: StorageSpan; signal?: AbortSignal }): Promise<number> {
    options.signal?.throwIfAborted();
    const object = await this.#call(path, () => this.#bucket.get(this.#keys.key(path), options.span, options.signal));
    if (!object) throw notFound(path);
    return copyToSink(object.body, sink, options.signal);
  }

  async writer(path: string, options: { append: boolean }): Promise<StorageWriter> {
    return S3AppendWriter.open({ bucket: this.#bucket, keys: this.#keys, path, partSize: this.#partSize }, options);
  }

  /**
   * A committed file, else one being written (its size as of the last `write` that finished). Both exist only
   * in a crash window of a commit or of a writer adopting the committed file, and then hold the same bytes
   * or the committed one is the newer: a writer opened to append takes the committed one too (S3AppendWriter).
   */
  async stat(path: string): Promise<StorageFileInfo | undefined> {
    const object = await this.#call(path, () => this.#bucket.head(this.#keys.key(path)));
    if (object) return { path, size: object.size, modifiedAt: object.modifiedAt };
    const tail = await this.#call(path, () => this.#bucket.head(this.#keys.hidden('tail', path)));
    return tail && { path, size: tailEnd(tail), modifiedAt: tail.modifiedAt };
  }

  /** Committed files and files being written, merged in path order (a committed one wins a tie). */
  async *list(prefix: string): AsyncIterable<StorageFileInfo> {
    const committed = this.#listArea(prefix, undefined);
    const writing = this.#listArea(prefix, 'tail');
    let a = await committed.next();
    let b = await writing.next();
    while (!a.done || !b.done) {
      if (!a.done && (b.done || a.value.path <= b.value.path)) {
        if (!b.done && a.value.path === b.value.path) b = await writing.next();
        yield a.value;
        a = await committed.next();
      } else if (!b.done) {
        const tail = await this.#bucket.head(this.#keys.hidden('tail', b.value.path));
        if (tail) yield { path: b.value.path, size: tailEnd(tail), modifiedAt: tail.modifiedAt };
        b = await writing.next();
      }
    }
  }

  /** CopyObject (a multipart copy above 5 GiB) then DeleteObject: a crash between them leaves both. */
  async move(from: string, to: string): Promise<void> {
    const source = await this.#call(from, () => this.#bucket.head(this.#keys.key(from)));
    if (!source) throw notFound(from);
    await this.#call(from, async () => {
      await this.#bucket.copy(this.#keys.key(from), this.#keys.key(to), source.size);
      await this.#bucket.delete(this.#keys.key(from));
    });
  }

  /** The file, everything under it as a directory, and any append state or set-aside copy of them. */
  async delete(path: string): Promise<void> {
    await this.#call(path || '/', async () => {
      const settled = this.#keys.hidden('append', path);
      const settledDir = this.#keys.dirPrefix(path, 'append');
      for await (const upload of this.#bucket.uploads(path === '' ? settledDir : settled)) {
        if (upload.key === settled || upload.key.startsWith(settledDir)) await this.#bucket.abortUpload(upload.key, upload.uploadId);
      }
      for (const area of [undefined, 'append', 'tail', 'removing'] as const) {
        if (path !== '') await this.#bucket.delete(area ? this.#keys.hidden(area, path) : this.#keys.key(path));
        const under: string[] = [];
        for await (const object of this.#bucket.list(this.#keys.dirPrefix(path, area))) under.push(object.key);
        await Promise.all(under.map((k) => this.#bucket.delete(k)));
      }
    });
  }

  /** A copy onto itself with new metadata: S3's only way to move Last-Modified. */
  async touch(path: string): Promise<boolean> {
    const key = this.#keys.key(path);
    const object = await this.#call(path, () => this.#bucket.head(key));
    if (!object) return false;
    try {
      await this.#bucket.copy(key, key, object.size, { metadata: { ...object.metadata, ...S3Bucket.mtime() } });
      return true;
    } catch (err) {
      if (isS3NotFound(err)) return false;
      throw s3Fault(err, `${path}: touch`);
    }
  }

  /**
   * Copies the file aside on condition that it was not modified since it was looked at
   * (x-amz-copy-source-if-unmodified-since), deletes it on the same condition (radosgw's
   * x-amz-delete-if-unmodified-since), then drops the copy; a crash after the delete leaves the copy for
   * recoverRemovals. S3 has no rename, so on a server without the conditional delete (AWS) a window stays: a
   * touch landing between the conditional copy and the delete (one round trip) reports true and the file goes
   * anyway. Either condition has the resolution of Last-Modified, a second: a touch within the same second as
   * the write it follows is not seen by them (the modifiedAt check before them sees it to the millisecond).
   */
  async removeIfUnusedSince(path: string, cutoff: Date): Promise<boolean> {
    const key = this.#keys.key(path);
    const aside = this.#keys.hidden('removing', path);
    const object = await this.#call(path, () => this.#bucket.head(key));
    if (!object || object.modifiedAt >= cutoff) return false;
    try {
      await this.#bucket.copy(key, aside, object.size, { ifUnmodifiedSince: object.lastModified });
    } catch (err) {
      if (isS3PreconditionFailed(err) || isS3NotFound(err)) return false;
      throw s3Fault(err, `${path}: setting aside`);
    }
    try {
      await this.#bucket.delete(key, { ifUnmodifiedSince: object.lastModified });
    } catch (err) {
      await this.#call(path, () => this.#bucket.delete(aside));
      if (isS3PreconditionFailed(err)) return false;
      throw s3Fault(err, `${path}: removing`);
    }
    await this.#call(path, () => this.#bucket.delete(aside));
    return true;
  }

  /** Each set-aside copy under `prefix`: put back when its file is gone, else dropped (the delete never ran). */
  async recoverRemovals(prefix: string): Promise<number> {
    let restored = 0;
    for await (const aside of this.#listArea(prefix, 'removing')) {
      await this.#call(aside.path, async () => {
        const key = this.#keys.key(aside.path);
        const asideKey = this.#keys.hidden('removing', aside.path);
        if (!(await this.#bucket.head(key))) {
          await this.#bucket.copy(asideKey, key, aside.size);
          restored++;
        }
        await this.#bucket.delete(asideKey);
      });
    }
    return restored;
  }

  /** A presigned GET or HEAD of the committed object, when redirects are enabled. */
  async redirectUrl(path: string, options: { method: 'GET' | 'HEAD'; expiresInSeconds: number }): Promise<string | undefined> {
    if (!this.#redirect) return undefined;
    const input = { Bucket: this.#bucket.name, Key: this.#keys.key(path) };
    const command = options.method === 'GET' ? new GetObjectCommand(input) : new HeadObjectCommand(input);
    return getSignedUrl(this.#bucket.client, command, { expiresIn: options.expiresInSeconds });
  }

  async *#listArea(dir: string, area: HiddenArea | undefined): AsyncGenerator<StorageFileInfo> {
    try {
      for await (const object of this.#bucket.list(this.#keys.dirPrefix(dir, area))) {
        if (!area && this.#keys.isReserved(object.key)) continue;
        yield { path: this.#keys.pathOf(object.key, area), size: object.size, modifiedAt: object.modifiedAt };
      }
    } catch (err) {
      throw s3Fault(err, `listing ${dir || '/'}`);
    }
  }

  /** The settled bytes then the tail of a file being written (current after its writer was opened). */
  async #inProgressReader(path: string, span: StorageSpan | undefined): Promise<Readable> {
    const tail = await this.#call(path, () => this.#bucket.get(this.#keys.hidden('tail', path)));
    if (!tail) throw notFound(path);
    const offset = Number(tail.metadata['wharf-offset']);
    const settled = offset > 0 ? await this.#call(path, () => this.#bucket.head(this.#keys.hidden('append', path))) : undefined;
    if ((settled?.size ?? 0) !== offset) {
      tail.body.destroy();
      throw new Fault('unavailable', `${path} is being written elsewhere: its bytes are readable once a writer reopens it`);
    }
    const start = span?.start ?? 0;
    const end = span?.end ?? offset + tail.size - 1;
    const bucket = this.#bucket;
    const settledKey = this.#keys.hidden('append', path);
    async function* bytes(): AsyncGenerator<Buffer> {
      if (start < offset) {
        const head = await bucket.get(settledKey, { start, end: Math.min(end, offset - 1) });
        if (head) for await (const chunk of head.body) yield chunk as Buffer;
      }
      const rest: Buffer[] = [];
      for await (const chunk of tail!.body) rest.push(chunk as Buffer);
      const from = Math.max(start - offset, 0);
      if (end >= offset) yield Buffer.concat(rest).subarray(from, end - offset + 1);
    }
    return Readable.from(bytes(), { objectMode: false });
  }

  async #call<T>(path: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw s3Fault(err, path);
    }
  }
}

function notFound(path: string): Fault {
  return new Fault('not-found', `${path} does not exist`);
}

function tailEnd(tail: S3ObjectInfo): number {
  return Number(tail.metadata['wharf-offset'] ?? 0) + tail.size;
}
