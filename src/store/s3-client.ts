import { S3Client } from '@aws-sdk/client-s3';

export interface S3ClientOptions {
  /** `http(s)://host:port` of an S3-compatible server; empty for AWS (from the region). */
  endpoint?: string;
  region: string;
  /** Static credentials; both empty means the SDK's default chain (environment, profile, instance role). */
  accessKey?: string;
  secretKey?: string;
  /** Path-style URLs (`endpoint/bucket/key`) instead of virtual-host ones (`bucket.endpoint/key`). */
  forcePathStyle?: boolean;
}

/**
 * The SDK client of S3Driver. Checksums only where S3 requires them: the SDK's default (CRC32 on every
 * upload, trailers on streams) is AWS-only and costs a pass over every byte.
 */
export function createS3Client(options: S3ClientOptions): S3Client {
  const credentials = options.accessKey || options.secretKey
    ? { accessKeyId: options.accessKey ?? '', secretAccessKey: options.secretKey ?? '' }
    : undefined;
  return new S3Client({
    endpoint: options.endpoint || undefined,
    region: options.region,
    credentials,
    forcePathStyle: options.forcePathStyle ?? false,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}
