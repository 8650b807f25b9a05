import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { BlobStore } from '../../src/store/blob-store.ts';
import { pattern } from '../../src/store/conformance.ts';

const mib = 1024 * 1024;

/**
 * Streams `total` bytes into `store` and back out, checking the digest both ways, and returns how far resident
 * memory rose meanwhile (MiB, sampled every 5 ms). The body arrives as fresh 64 KiB buffers, as an HTTP
 * request's does, so a store that kept them would show it.
 */
export async function streamedRssGrowth(store: BlobStore, total: number): Promise<number> {
  const block = pattern(0, mib);
  const hash = createHash('sha256');
  for (let at = 0; at < total; at += mib) hash.update(block);
  const digest = `sha256:${hash.digest('hex')}`;
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  try {
    const writer = await store.ingest('big');
    await writer.write(
      (async function* () {
        for (let at = 0; at < total; at += 64 * 1024) yield Buffer.from(block.subarray(at % mib, (at % mib) + 64 * 1024));
      })(),
    );
    await writer.commit({ digest, size: total });
    const check = createHash('sha256');
    for await (const chunk of await store.read(digest)) check.update(chunk as Buffer);
    assert.equal(`sha256:${check.digest('hex')}`, digest);
  } finally {
    clearInterval(sampler);
  }
  return (peak - before) / mib;
}
