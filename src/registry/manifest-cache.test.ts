import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ManifestCache } from './manifest-cache.ts';

test('the cache is bounded by total bytes, dropping the least recently used', () => {
  const cache = new ManifestCache({ maxBytes: 10, maxEntryBytes: 10 });
  cache.set('a', Buffer.alloc(4));
  cache.set('b', Buffer.alloc(4));
  assert.ok(cache.get('a'));
  cache.set('c', Buffer.alloc(4));
  assert.equal(cache.get('b'), undefined, 'b was the least recently used');
  assert.ok(cache.get('a') && cache.get('c'));
  assert.equal(cache.bytes, 8);
  cache.delete('a');
  assert.equal(cache.bytes, 4);
});

test('a body over the entry cap is not kept', () => {
  const cache = new ManifestCache({ maxBytes: 100, maxEntryBytes: 10 });
  cache.set('big', Buffer.alloc(11));
  assert.equal(cache.get('big'), undefined);
  assert.equal(cache.bytes, 0);
});

test('a view into a larger buffer is kept as an exact copy, so it pins nothing else', () => {
  const cache = new ManifestCache();
  const slab = Buffer.alloc(64 * 1024, 7);
  cache.set('view', slab.subarray(100, 200));
  const kept = cache.get('view')!;
  assert.equal(kept.length, 100);
  assert.equal(kept.buffer.byteLength, 100);
  assert.ok(kept.every((b) => b === 7));
});

test('when every entry was read since the last eviction, the oldest still goes first', () => {
  const cache = new ManifestCache({ maxBytes: 8, maxEntryBytes: 8 });
  cache.set('a', Buffer.alloc(4));
  cache.set('b', Buffer.alloc(4));
  assert.ok(cache.get('a') && cache.get('b'));
  cache.set('c', Buffer.alloc(4));
  assert.equal(cache.get('a'), undefined);
  assert.ok(cache.get('b') && cache.get('c'));
  assert.equal(cache.bytes, 8);
});
