import { parseDigest, type Digest } from '../oci/digest.ts';
import { isIngestRef } from './ingest-ref.ts';

/**
 * Where DriverBlobStore keeps its files, as driver paths (the filesystem layout since the first release, so
 * existing roots keep working):
 *   blobs/<alg>/<hex[0:2]>/<hex>   committed content
 *   ingest/<ref>/data              an upload in progress (resumable)
 * Only parsed digests and validated refs go in, so no component can escape the driver's root.
 */
export const blobsPrefix = 'blobs';
export const ingestPrefix = 'ingest';

export function blobPath(digest: Digest): string {
  return `${blobsPrefix}/${digest.algorithm}/${digest.hex.slice(0, 2)}/${digest.hex}`;
}

export function ingestDir(ref: string): string {
  return `${ingestPrefix}/${ref}`;
}

export function ingestDataPath(ref: string): string {
  return `${ingestDir(ref)}/data`;
}

/** The digest a `blobs/<alg>/<shard>/<hex>` path stands for; undefined for anything else found there. */
export function blobPathDigest(path: string): Digest | undefined {
  const parts = path.split('/');
  if (parts.length !== 4 || parts[0] !== blobsPrefix || parts[2].length !== 2) return undefined;
  try {
    const digest = parseDigest(`${parts[1]}:${parts[3]}`);
    return digest.hex.startsWith(parts[2]) ? digest : undefined;
  } catch {
    return undefined;
  }
}

/** The ref of an `ingest/<ref>/data` path; undefined for anything else found there. */
export function ingestPathRef(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length === 3 && parts[0] === ingestPrefix && parts[2] === 'data' && isIngestRef(parts[1]) ? parts[1] : undefined;
}

/** The ref of an `ingest/<ref>` directory; undefined for anything else found there. */
export function ingestDirRef(path: string): string | undefined {
  const parts = path.split('/');
  return parts.length === 2 && parts[0] === ingestPrefix && isIngestRef(parts[1]) ? parts[1] : undefined;
}
