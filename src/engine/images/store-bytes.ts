import { Readable } from 'node:stream';
import { digestOf, parseDigest } from '../../oci/digest.ts';
import type { BlobStore } from '../../store/blob-store.ts';

/** Stores a small document (an image config) as a blob; returns its digest. Idempotent. */
export async function storeBytes(blobs: BlobStore, bytes: Buffer, expected?: string): Promise<string> {
  const digest = expected ?? digestOf(bytes);
  if (await blobs.touch(digest)) return digest;
  const ref = `engine-doc-${parseDigest(digest).hex}`;
  // A crash may have left a partial ingest under this ref; it is not worth resuming a few kilobytes.
  await blobs.abortIngest(ref);
  const writer = await blobs.ingest(ref);
  try {
    await writer.write(Readable.from([bytes]));
    await writer.commit({ digest, size: bytes.length });
  } catch (err) {
    await writer.cancel().catch(() => undefined);
    throw err;
  }
  return digest;
}
