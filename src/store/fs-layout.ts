import { join } from 'node:path';
import type { Digest } from '../oci/digest.ts';

/**
 * The on-disk layout of the filesystem blob store, drawn once:
 *   <root>/blobs/<alg>/<hex[0:2]>/<hex>   committed, read-only content
 *   <root>/ingest/<ref>/data              an upload in progress (resumable)
 * Callers pass only parsed digests and validated refs, so no component can escape the root.
 */
export class FsLayout {
  readonly root: string;
  readonly blobsDir: string;
  readonly ingestRoot: string;

  constructor(root: string) {
    this.root = root;
    this.blobsDir = join(root, 'blobs');
    this.ingestRoot = join(root, 'ingest');
  }

  shardDir(digest: Digest): string {
    return join(this.blobsDir, digest.algorithm, digest.hex.slice(0, 2));
  }

  blobPath(digest: Digest): string {
    return join(this.shardDir(digest), digest.hex);
  }

  ingestDir(ref: string): string {
    return join(this.ingestRoot, ref);
  }

  ingestData(ref: string): string {
    return join(this.ingestRoot, ref, 'data');
  }
}
