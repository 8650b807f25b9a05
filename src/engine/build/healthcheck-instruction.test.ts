import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoDuration } from '../../base/go-parse.ts';
import { parseHealthcheck } from './healthcheck-instruction.ts';

/** The parser's split: leading `--name=value` flags, then the rest. */
function h(text: string): { flags: Record<string, string>; args: string } {
  const flags: Record<string, string> = {};
  let rest = text;
  for (let m = /^--([a-z-]+)=(\S*)\s*/.exec(rest); m; m = /^--([a-z-]+)=(\S*)\s*/.exec(rest)) {
    flags[m[1]] = m[2];
    rest = rest.slice(m[0].length);
  }
  return { flags, args: rest };
}

test('HEALTHCHECK: shell and exec forms, flags in nanoseconds, NONE', () => {
  assert.deepEqual(parseHealthcheck(h('--interval=5s --timeout=1m30s --retries=2 CMD wget -q localhost || exit 1')), {
    Test: ['CMD-SHELL', 'wget -q localhost || exit 1'],
    Interval: 5e9,
    Timeout: 90e9,
    Retries: 2,
  });
  assert.deepEqual(parseHealthcheck(h('CMD ["true", "x"]')), { Test: ['CMD', 'true', 'x'] });
  assert.deepEqual(parseHealthcheck(h('NONE')), { Test: ['NONE'] });
  assert.deepEqual(parseHealthcheck(h('--start-period=500ms --start-interval=1.5s cmd true')), { Test: ['CMD-SHELL', 'true'], StartPeriod: 5e8, StartInterval: 1.5e9 });
});

test('HEALTHCHECK mistakes get moby\'s texts', () => {
  assert.throws(() => parseHealthcheck(h('NONE x')), /HEALTHCHECK NONE takes no arguments/);
  assert.throws(() => parseHealthcheck(h('RUN true')), /Unknown type "RUN" in HEALTHCHECK \(try CMD\)/);
  assert.throws(() => parseHealthcheck(h('--bogus=1 CMD true')), /Unknown flag: bogus/);
  assert.throws(() => parseHealthcheck(h('--interval=10 CMD true')), /invalid duration "10"/);
  assert.throws(() => parseHealthcheck(h('--interval=10us CMD true')), /cannot be less than 1ms/);
  assert.throws(() => parseHealthcheck(h('--retries=-1 CMD true')), /--retries cannot be negative \(-1\)/);
  assert.deepEqual(parseHealthcheck(h('--retries=0 CMD true')), { Test: ['CMD-SHELL', 'true'] });
});

test('Go durations', () => {
  assert.equal(parseGoDuration('1h2m3s'), 3723e9);
  assert.equal(parseGoDuration('0'), 0);
  assert.equal(parseGoDuration('1x'), undefined);
  assert.equal(parseGoDuration('s'), undefined);
});
