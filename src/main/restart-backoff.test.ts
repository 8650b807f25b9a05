import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RestartBackoff } from './restart-backoff.ts';

test('delays double from 0.5 s per consecutive crash and stop at 30 s', () => {
  const backoff = new RestartBackoff();
  const delays = Array.from({ length: 9 }, () => backoff.delayAfter(100));
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
});

test('a run that stayed up for the stable period starts the delays again', () => {
  const backoff = new RestartBackoff({ initialMs: 100, maxMs: 1000, stableMs: 5000 });
  assert.deepEqual([backoff.delayAfter(10), backoff.delayAfter(10), backoff.delayAfter(10)], [100, 200, 400]);
  assert.equal(backoff.delayAfter(5000), 100);
  assert.equal(backoff.delayAfter(4999), 200);
});
