import type { Config } from '../base/config.ts';
import type { BlobStore } from '../store/blob-store.ts';
import { DriverBlobStore } from '../store/driver-blob-store.ts';
import { FsDriver } from '../store/fs-driver.ts';
import type { IngestLocks } from '../store/ingest-locks.ts';
import type { StorageDriver } from '../store/storage-driver.ts';

export interface OpenBlobStoreOptions {
  /** The ingest lock shared by replicas; this process's own when absent. */
  locks?: IngestLocks;
}

/** The BlobStore `storage.driver` names: every part and command that stores blobs opens it here. */
export async function openBlobStore(config: Config, options: OpenBlobStoreOptions = {}): Promise<BlobStore> {
  return new DriverBlobStore({ driver: await openStorageDriver(config), locks: options.locks, redirectExpiresSeconds: config.storage.s3.redirect.expiresSeconds });
}

async function openStorageDriver(config: Config): Promise<StorageDriver> {
  switch (config.storage.driver) {
    case 'filesystem':
      return new FsDriver({ root: config.root });
    case 's3':
      // Loaded only when configured: the AWS SDK is tens of MiB of RSS a filesystem registry never needs.
      return (await import('./open-s3-driver.ts')).openS3Driver(config.storage.s3);
  }
}
