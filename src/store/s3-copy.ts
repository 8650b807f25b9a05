import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  type S3Client,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3';

/** S3's limit for one CopyObject or UploadPartCopy; larger objects are copied as a multipart upload of ranges. */
export const maxCopyBytes = 5 * 1024 ** 3;

export interface S3CopyOptions {
  /** New user metadata (MetadataDirective REPLACE); the source's is kept when absent. */
  metadata?: Record<string, string>;
  /** x-amz-copy-source-if-unmodified-since: the copy fails with 412 once the source changed after this. */
  ifUnmodifiedSince?: Date;
}

/** The x-amz-copy-source of a key: `bucket/key`, each segment URL-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/** Server-side copy of `from` (of `size` bytes) to `to` in one bucket: no byte passes through wharf. */
export async function copyObject(client: S3Client, bucket: string, from: string, to: string, size: number, options: S3CopyOptions = {}): Promise<void> {
  if (size <= maxCopyBytes) {
    await client.send(new CopyObjectCommand({
      Bucket: bucket,
      Key: to,
      CopySource: copySource(bucket, from),
      MetadataDirective: options.metadata ? 'REPLACE' : 'COPY',
      Metadata: options.metadata,
      CopySourceIfUnmodifiedSince: options.ifUnmodifiedSince,
    }));
    return;
  }
  await multipartCopy(client, bucket, { from, to, size }, options);
}

/** Ranges of at most maxCopyBytes and at least 5 MiB each (equal shares), covering [0, size). */
export function copyRanges(size: number): Array<{ start: number; end: number }> {
  const count = Math.ceil(size / maxCopyBytes);
  const share = Math.ceil(size / count);
  const ranges: Array<{ start: number; end: number }> = [];
  for (let start = 0; start < size; start += share) ranges.push({ start, end: Math.min(start + share, size) - 1 });
  return ranges;
}

async function multipartCopy(client: S3Client, bucket: string, copy: { from: string; to: string; size: number }, options: S3CopyOptions): Promise<void> {
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: copy.to, Metadata: options.metadata }));
  try {
    const parts = [];
    for (const [i, range] of copyRanges(copy.size).entries()) {
      const result = await client.send(new UploadPartCopyCommand({
        Bucket: bucket,
        Key: copy.to,
        UploadId,
        PartNumber: i + 1,
        CopySource: copySource(bucket, copy.from),
        CopySourceRange: `bytes=${range.start}-${range.end}`,
        CopySourceIfUnmodifiedSince: options.ifUnmodifiedSince,
      }));
      parts.push({ PartNumber: i + 1, ETag: result.CopyPartResult?.ETag });
    }
    await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: copy.to, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: copy.to, UploadId })).catch(() => {});
    throw err;
  }
}
