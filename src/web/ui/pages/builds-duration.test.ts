import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatDuration } from './builds-duration.ts';

const at = (seconds: number) => new Date(Date.UTC(2026, 11, 5, 3, 0, seconds)).toISOString();

test('a duration reads in seconds, then minutes and seconds, then hours and minutes', () => {
  assert.equal(formatDuration(at(0), at(42)), '42 s');
  assert.equal(formatDuration(at(0), at(185)), '3 min 5 s');
  assert.equal(formatDuration(at(0), at(3720)), '1 h 2 min');
});

test('an unfinished span runs to now, and a clock skew never shows a negative time', () => {
  assert.equal(formatDuration(at(0), null, Date.parse(at(7))), '7 s');
  assert.equal(formatDuration(at(10), at(0)), '0 s');
  assert.equal(formatDuration('not a date', null), '—');
});
