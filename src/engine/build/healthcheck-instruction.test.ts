import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execForm } from './dockerfile.ts';
import { parseGoDuration } from '../../base/go-parse.ts';
import { parseHealthcheck } from './healthcheck-instruction.ts';

test('HEALTHCHECK: shell and exec forms, flags in nanoseconds, NONE', () => {
  assert.deepEqual(parseHealthcheck('--interval=5s --timeout=1m30s --retries=2 CMD wget -q localhost || exit 1', execForm), {
    Test: ['CMD-SHELL', 'wget -q localhost || exit 1'],
    Interval: 5e9,
    Timeout: 90e9,
    Retries: 2,
  });
  assert.deepEqual(parseHealthcheck('CMD ["true", "x"]', execForm), { Test: ['CMD', 'true', 'x'] });
  assert.deepEqual(parseHealthcheck('NONE', execForm), { Test: ['NONE'] });
  assert.deepEqual(parseHealthcheck('--start-period=500ms --start-interval=1.5s cmd true', execForm), { Test: ['CMD-SHELL', 'true'], StartPeriod: 5e8, StartInterval: 1.5e9 });
});

test('HEALTHCHECK mistakes get moby\'s texts', () => {
  assert.throws(() => parseHealthcheck('NONE x', execForm), /HEALTHCHECK NONE takes no arguments/);
  assert.throws(() => parseHealthcheck('RUN true', execForm), /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
  assert.throws(() => parseHealthcheck('--bogus=1 CMD true', execForm), /Unknown flag: bogus/);
  assert.throws(() => parseHealthcheck('--interval=10 CMD true', execForm), /invalid duration "10"/);
  assert.throws(() => parseHealthcheck('--interval=10us CMD true', execForm), /cannot be less than 1ms/);
  assert.throws(() => parseHealthcheck('--retries=-1 CMD true', execForm), /--retries cannot be negative \(-1\)/);
  assert.deepEqual(parseHealthcheck('--retries=0 CMD true', execForm), { Test: ['CMD-SHELL', 'true'] });
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1h2m3s'), 3723e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1x'), undefined);
  assert.equal(parseGoDuration('s'), undefined);
});
