import type { Config } from '../base/config.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { DriverBlobStore } from '../store/driver-blob-store.ts';
import { FsDriver } from '../store/fs-driver.ts';
import { createS3Client } from '../store/s3-client.ts';
import { S3Driver } from '../store/s3-driver.ts';
import type { IngestLocks } from '../store/ingest-locks.ts';
import type { StorageDriver } from '../store/storage-driver.ts';

export interface OpenBlobStoreOptions {
  /** The ingest lock shared by replicas; this process's own when absent. */
  locks?: IngestLocks;
}

/** The BlobStore `storage.driver` names: every part and command that stores blobs opens it here. */
export function openBlobStore(config: Config, options: OpenBlobStoreOptions = {}): BlobStore {
  return new DriverBlobStore({ driver: openStorageDriver(config), locks: options.locks, redirectExpiresSeconds: config.storage.s3.redirect.expiresSeconds });
}

function openStorageDriver(config: Config): StorageDriver {
  switch (config.storage.driver) {
    case 'filesystem':
      return new FsDriver({ root: config.root });
    case 's3':
      return openS3Driver(config.storage.s3);
  }
}

function openS3Driver(s3: Config['storage']['s3']): StorageDriver {
  const client = createS3Client({ endpoint: s3.endpoint, region: s3.region, accessKey: s3.accessKey, secretKey: s3.secretKey, forcePathStyle: s3.forcePathStyle });
  return new S3Driver({ client, bucket: s3.bucket, prefix: s3.prefix, partSize: s3.chunkSize, redirect: s3.redirect.enabled });
}
