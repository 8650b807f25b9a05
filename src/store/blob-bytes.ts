import { Fault } from '../base/fault.ts';
import type { BlobStore, ByteRange } from './blob-store.ts';

/**
 * A small stored blob (manifest, config, a few magic bytes) read whole. `limit` guards what a caller means to
 * hold in memory: past it, a Fault too-large naming `what`.
 */
export async function readBlobBytes(
  blobs: BlobStore,
  digest: string,
  options: { range?: ByteRange; limit?: number; what?: string } = {},
): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of await blobs.read(digest, options.range)) {
    size += (chunk as Buffer).length;
    if (options.limit !== undefined && size > options.limit) throw new Fault('too-large', `${options.what ?? `blob ${digest}`} is too large`);
    chunks.push(chunk as Buffer);
  }
  // One chunk (a small blob read with a highWaterMark of its size) is returned as is, not copied.
  return chunks.length === 1 ? chunks[0] : Buffer.concat(chunks, size);
}
