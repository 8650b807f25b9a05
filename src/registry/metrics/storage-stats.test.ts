import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { StoredBlobInfo } from '../../store/blob-store.ts';
import { storageStats } from './storage-stats.ts';

/** A blob list whose walks are counted and can be held open, to see caching and sharing. */
function countingBlobs(sizes: number[]) {
  let walks = 0;
  let release: () => void = () => {};
  let gate = Promise.resolve();
  return {
    walks: () => walks,
    hold: () => {
      gate = new Promise((resolve) => (release = resolve));
    },
    release: () => release(),
    async *list(): AsyncIterable<StoredBlobInfo> {
      walks++;
      await gate;
      for (const [i, size] of sizes.entries()) yield { digest: `sha256:${String(i).padStart(64, '0')}`, size, usedAt: new Date(0) };
    },
  };
}

test('sums blob count and bytes from one walk, reused until cacheSeconds pass', async () => {
  const blobs = countingBlobs([10, 20, 30]);
  let clock = 1_000_000;
  const read = storageStats(blobs, { cacheSeconds: 60, now: () => clock });
  assert.deepEqual(await read(), { blobs: 3, bytes: 60 });
  clock += 59_999;
  assert.deepEqual(await read(), { blobs: 3, bytes: 60 });
  assert.equal(blobs.walks(), 1);
  clock += 1;
  await read();
  assert.equal(blobs.walks(), 2);
});

test('readers arriving during a walk share it, also with cacheSeconds 0', async () => {
  const blobs = countingBlobs([5, 7]);
  const read = storageStats(blobs, { cacheSeconds: 0 });
  blobs.hold();
  const both = Promise.all([read(), read()]);
  blobs.release();
  assert.deepEqual(await both, [{ blobs: 2, bytes: 12 }, { blobs: 2, bytes: 12 }]);
  assert.equal(blobs.walks(), 1);
  await read();
  assert.equal(blobs.walks(), 2, 'with cacheSeconds 0 the next scrape walks again');
});
