import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { mapConcurrent } from './map-concurrent.ts';

test('mapConcurrent keeps the order, never runs more than the limit at once, and passes a failure on', async () => {
  let running = 0;
  let most = 0;
  const out = await mapConcurrent([5, 1, 4, 2, 3], 2, async (n) => {
    most = Math.max(most, ++running);
    await sleep(n);
    running--;
    return n * 10;
  });
  assert.deepEqual(out, [50, 10, 40, 20, 30]);
  assert.equal(most, 2);
  assert.deepEqual(await mapConcurrent([], 4, async () => 1), []);
  await assert.rejects(mapConcurrent([1, 2], 4, async (n) => {
    if (n === 2) throw new Error('two');
    return n;
  }), /two/);
});
