import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutObjectCommand,
  type S3Client,
  UploadPartCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';
import type { Readable } from 'node:stream';
import { isS3NoSuchUpload, isS3NotFound } from './s3-errors.ts';
import { copyObject, copySource, type S3CopyOptions } from './s3-copy.ts';

/** User metadata `x-amz-meta-wharf-mtime`: the last write or touch in milliseconds (Last-Modified has seconds). */
const mtimeKey = 'wharf-mtime';

export interface S3ObjectInfo {
  key: string;
  size: number;
  /** The wharf-mtime metadata when known (HEAD), else the server's Last-Modified. */
  modifiedAt: Date;
  /** The server's Last-Modified, as x-amz-copy-source-if-unmodified-since compares it. */
  lastModified: Date;
  metadata: Record<string, string>;
}

export interface S3Part {
  PartNumber: number;
  ETag: string;
  Size: number;
}

/** One bucket through the SDK: the few calls S3Driver makes, with absent keys answered as undefined / no-op. */
export class S3Bucket {
  readonly client: S3Client;
  readonly name: string;

  constructor(client: S3Client, name: string) {
    this.client = client;
    this.name = name;
  }

  static mtime(now = new Date()): Record<string, string> {
    return { [mtimeKey]: String(now.getTime()) };
  }

  async head(key: string): Promise<S3ObjectInfo | undefined> {
    try {
      const out = await this.client.send(new HeadObjectCommand({ Bucket: this.name, Key: key }));
      const lastModified = out.LastModified ?? new Date(0);
      const metadata = out.Metadata ?? {};
      const mtime = Number(metadata[mtimeKey]);
      return { key, size: out.ContentLength ?? 0, modifiedAt: Number.isFinite(mtime) && mtime > 0 ? new Date(mtime) : lastModified, lastModified, metadata };
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  /** The object's body (or an inclusive span of it), undefined when absent. */
  async get(key: string, span?: { start: number; end?: number }, signal?: AbortSignal): Promise<{ body: Readable; size: number; metadata: Record<string, string> } | undefined> {
    const range = span ? `bytes=${span.start}-${span.end ?? ''}` : undefined;
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: this.name, Key: key, Range: range }), { abortSignal: signal });
      return { body: out.Body as Readable, size: out.ContentLength ?? 0, metadata: out.Metadata ?? {} };
    } catch (err) {
      if (isS3NotFound(err)) return undefined;
      throw err;
    }
  }

  async put(key: string, body: Uint8Array, metadata: Record<string, string> = S3Bucket.mtime()): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: this.name, Key: key, Body: body, ContentLength: body.byteLength, Metadata: metadata }));
  }

  /**
   * No-op when absent (S3 answers 204 either way). `ifUnmodifiedSince`: radosgw's
   * x-amz-delete-if-unmodified-since, a delete that fails with 412 once the object changed after that second
   * (servers without it, AWS among them, ignore the header and delete).
   */
  async delete(key: string, options: { ifUnmodifiedSince?: Date } = {}): Promise<void> {
    const command = new DeleteObjectCommand({ Bucket: this.name, Key: key });
    const since = options.ifUnmodifiedSince;
    if (since) {
      command.middlewareStack.add((next) => async (args) => {
        const request = args.request as { headers: Record<string, string> };
        request.headers['x-amz-delete-if-unmodified-since'] = since.toISOString();
        return next(args);
      }, { step: 'build', name: 'wharfDeleteIfUnmodifiedSince' });
    }
    await this.client.send(command);
  }

  async copy(from: string, to: string, size: number, options?: S3CopyOptions): Promise<void> {
    await copyObject(this.client, this.name, from, to, size, options);
  }

  /** Every object under `prefix`, in key order (ListObjectsV2 pages). */
  async *list(prefix: string): AsyncIterable<S3ObjectInfo> {
    let token: string | undefined;
    do {
      const out = await this.client.send(new ListObjectsV2Command({ Bucket: this.name, Prefix: prefix, ContinuationToken: token }));
      for (const o of out.Contents ?? []) {
        const lastModified = o.LastModified ?? new Date(0);
        yield { key: o.Key ?? '', size: o.Size ?? 0, modifiedAt: lastModified, lastModified, metadata: {} };
      }
      token = out.IsTruncated ? out.NextContinuationToken : undefined;
    } while (token);
  }

  /** Multipart uploads in progress whose key starts with `prefix`. */
  async *uploads(prefix: string): AsyncIterable<{ key: string; uploadId: string; initiated: Date }> {
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    do {
      const out = await this.client.send(new ListMultipartUploadsCommand({ Bucket: this.name, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }));
      for (const u of out.Uploads ?? []) yield { key: u.Key ?? '', uploadId: u.UploadId ?? '', initiated: u.Initiated ?? new Date(0) };
      keyMarker = out.IsTruncated ? out.NextKeyMarker : undefined;
      uploadIdMarker = out.IsTruncated ? out.NextUploadIdMarker : undefined;
    } while (keyMarker);
  }

  async parts(key: string, uploadId: string): Promise<S3Part[]> {
    const parts: S3Part[] = [];
    let marker: string | undefined;
    do {
      const out = await this.client.send(new ListPartsCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumberMarker: marker }));
      for (const p of out.Parts ?? []) parts.push({ PartNumber: p.PartNumber ?? 0, ETag: p.ETag ?? '', Size: p.Size ?? 0 });
      marker = out.IsTruncated ? out.NextPartNumberMarker : undefined;
    } while (marker);
    return parts;
  }

  async createUpload(key: string): Promise<string> {
    const out = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.name, Key: key }));
    if (!out.UploadId) throw new Error(`s3: CreateMultipartUpload of ${key} returned no UploadId`);
    return out.UploadId;
  }

  async uploadPart(key: string, uploadId: string, partNumber: number, body: Buffer): Promise<S3Part> {
    const out = await this.client.send(new UploadPartCommand({ Bucket: this.name, Key: key, UploadId: uploadId, PartNumber: partNumber, Body: body, ContentLength: body.byteLength }));
    return { PartNumber: partNumber, ETag: out.ETag ?? '', Size: body.byteLength };
  }

  /** A part made server-side from the inclusive byte range of another object. */
  async uploadPartCopy(key: string, uploadId: string, partNumber: number, from: { key: string; start: number; end: number }): Promise<S3Part> {
    const out = await this.client.send(new UploadPartCopyCommand({
      Bucket: this.name,
      Key: key,
      UploadId: uploadId,
      PartNumber: partNumber,
      CopySource: copySource(this.name, from.key),
      CopySourceRange: `bytes=${from.start}-${from.end}`,
    }));
    return { PartNumber: partNumber, ETag: out.CopyPartResult?.ETag ?? '', Size: from.end - from.start + 1 };
  }

  async completeUpload(key: string, uploadId: string, parts: S3Part[]): Promise<void> {
    const list = parts.map((p) => ({ PartNumber: p.PartNumber, ETag: p.ETag }));
    await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId, MultipartUpload: { Parts: list } }));
  }

  /** No-op when the upload is gone already. */
  async abortUpload(key: string, uploadId: string): Promise<void> {
    try {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.name, Key: key, UploadId: uploadId }));
    } catch (err) {
      if (!isS3NoSuchUpload(err) && !isS3NotFound(err)) throw err;
    }
  }
}
