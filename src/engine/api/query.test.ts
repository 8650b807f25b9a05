import assert from 'node:assert/strict';
import { test } from 'node:test';
import { matchesLabels, parseFilters, parseTimestamp } from './query.ts';

test('filters accept both the map and the legacy list form', () => {
  assert.deepEqual(parseFilters('{"name":{"t1":true},"status":["exited"]}'), new Map([['name', ['t1']], ['status', ['exited']]]));
  assert.throws(() => parseFilters('{'), /invalid filter/);
  assert.throws(() => parseFilters('{"name":null}'), /invalid filter/);
  assert.throws(() => parseFilters('{"name":[1]}'), /invalid filter/);
});

test('label filters match on key or key=value', () => {
  assert.equal(matchesLabels({ a: '1' }, ['a']), true);
  assert.equal(matchesLabels({ a: '1' }, ['a=1']), true);
  assert.equal(matchesLabels({ a: '1' }, ['a=2']), false);
  assert.equal(matchesLabels(null, ['a']), false);
});

test('timestamps may be unix seconds, RFC3339 or a duration back from now', () => {
  assert.equal(parseTimestamp('1700000000.5', 0), 1700000000500);
  assert.equal(parseTimestamp('10m', 1_000_000), 1_000_000 - 600_000);
  assert.equal(parseTimestamp('2024-01-01T00:00:00Z', 0), Date.parse('2024-01-01T00:00:00Z'));
});
