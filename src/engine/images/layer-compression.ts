import { readBlobBytes } from '../../store/blob-bytes.ts';
import type { BlobStore } from '../../store/blob-store.ts';

export type LayerCompression = 'gzip' | 'zstd' | 'none';

/** What a layer's first bytes say it is compressed with (the media type may not say, or may be wrong). */
export function compressionOf(head: Uint8Array): LayerCompression {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'gzip';
  if (head[0] === 0x28 && head[1] === 0xb5 && head[2] === 0x2f && head[3] === 0xfd) return 'zstd';
  return 'none';
}

/** The compression of a stored blob, from its first four bytes. */
export async function blobCompression(blobs: BlobStore, digest: string): Promise<LayerCompression> {
  const head = await readBlobBytes(blobs, digest, { range: { start: 0, end: 3 } }).catch(() => undefined);
  return head ? compressionOf(head) : 'none';
}
