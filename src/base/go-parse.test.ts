import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGoBool, parseGoDuration } from './go-parse.ts';

test('strconv.ParseBool spellings', () => {
  for (const text of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(text), true);
  for (const text of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(text), false);
  for (const text of ['', 'yes', 'tRUE', ' 1']) assert.equal(parseGoBool(text), undefined);
});

test('time.ParseDuration in nanoseconds', () => {
  assert.equal(parseGoDuration('1h2m3.5s'), 3723.5e9);
  assert.equal(parseGoDuration('250ms'), 250e6);
  assert.equal(parseGoDuration('.5s'), 5e8);
  assert.equal(parseGoDuration('0'), 0);
  for (const text of ['', '5', 's', '1d', '1s ', '-1s']) assert.equal(parseGoDuration(text), undefined);
});
