import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { GcIndex } from '../meta/gc-index.ts';
import { lazyGcIndex } from './engine-blob-releaser.ts';

test('a GcIndex whose open failed (the database down) opens again at the next call', async () => {
  let opens = 0;
  const index = lazyGcIndex(async () => {
    if (++opens === 1) throw new Error('database down');
    return { isReferenced: async () => true } as unknown as GcIndex;
  });
  await assert.rejects(index.isReferenced('sha256:a'), /database down/);
  assert.equal(await index.isReferenced('sha256:a'), true);
  assert.equal(await index.isReferenced('sha256:b'), true);
  assert.equal(opens, 2, 'opened once more after the failure, then kept');
});
