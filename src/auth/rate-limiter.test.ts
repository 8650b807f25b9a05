import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RateLimiter } from './rate-limiter.ts';

function limiter(options: { maxKeys?: number } = {}) {
  let now = 1_000_000;
  const l = new RateLimiter({ limit: 3, windowSeconds: 60, now: () => now, ...options });
  return { l, advance: (ms: number) => (now += ms) };
}

test('a key is held back after `limit` failures in the window, until the oldest ages out', () => {
  const { l, advance } = limiter();
  l.fail('a');
  advance(10_000);
  l.fail('a');
  assert.equal(l.retryAfter('a'), 0);
  l.fail('a');
  assert.equal(l.retryAfter('a'), 50, 'the first failure leaves the window 50 s from now');
  assert.equal(l.retryAfter('b'), 0, 'other keys are not affected');
  advance(50_000);
  assert.equal(l.retryAfter('a'), 0);
});

test('a success clears the key; failures keep only what matters', () => {
  const { l } = limiter();
  for (let i = 0; i < 100; i++) l.fail('a');
  assert.ok(l.retryAfter('a') > 0);
  l.succeed('a');
  assert.equal(l.retryAfter('a'), 0);
});

test('memory stays bounded: the oldest keys are forgotten first', () => {
  const { l } = limiter({ maxKeys: 100 });
  for (let i = 0; i < 3; i++) l.fail('victim');
  for (let i = 0; i < 1000; i++) l.fail(`ip:${i}`);
  assert.equal(l.size, 100);
  assert.equal(l.retryAfter('victim'), 0);
  assert.equal(l.retryAfter('ip:999'), 0, 'one failure is under the limit');
});
