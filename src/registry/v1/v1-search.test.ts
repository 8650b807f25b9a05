import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSearchQuery, searchRank } from './v1-search.ts';

test('name matches rank before description matches: whole name or last component, prefix, anywhere', () => {
  const rank = (name: string, description = '') => searchRank('redis', { name, description });
  assert.equal(rank('redis'), 0);
  assert.equal(rank('library/redis'), 0);
  assert.equal(rank('acme/redis-cluster'), 1);
  assert.equal(rank('redis/tools'), 2);
  assert.equal(rank('acme/cache', 'A Redis cache'), 3);
  assert.equal(rank('acme/cache', 'memcached'), undefined);
  assert.equal(searchRank('', { name: 'anything', description: '' }), 0, 'an empty term lists everything');
  assert.equal(searchRank('REDIS', { name: 'redis', description: '' }), 0, 'case-insensitive');
});

test('search parameters: defaults, the cap on n, and 400 for anything that is not a positive integer', () => {
  assert.deepEqual(parseSearchQuery({}), { q: '', n: 25, page: 1 });
  assert.deepEqual(parseSearchQuery({ q: 'x', n: '500', page: '3' }), { q: 'x', n: 100, page: 3 });
  for (const bad of [{ n: '0' }, { n: '-1' }, { n: '1.5' }, { page: 'two' }, { n: '9999999999' }, { q: 'x'.repeat(256) }]) {
    assert.throws(() => parseSearchQuery(bad), /positive integer|longer than 255/, JSON.stringify(bad));
  }
});
