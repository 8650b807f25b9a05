import type { Config } from '../base/config.ts';
import { createS3Client } from '../store/s3-client.ts';
import { S3Driver } from '../store/s3-driver.ts';
import type { StorageDriver } from '../store/storage-driver.ts';

/** `storage.driver: s3`, imported by openBlobStore only then. */
export function openS3Driver(s3: Config['storage']['s3']): StorageDriver {
  const client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey, forcePathStyle: s3.forcePathStyle });
  return new S3Driver({ client, bucket: s3.bucket, prefix: s3.prefix, partSize: s3.chunkSize, redirect: s3.redirect.enabled });
}
