import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from './fault.ts';
import { SlabPool } from './slab-pool.ts';

test('a slab goes back to the pool at its last release, and is taken again empty', () => {
  const pool = new SlabPool({ slabBytes: 16, keep: 2 });
  const slab = pool.take();
  slab.bytes.write('abc');
  slab.length = 3;
  slab.retain();
  slab.release();
  assert.equal(pool.idle, 0, 'still held by its taker');
  slab.release();
  assert.equal(pool.idle, 1);
  const again = pool.take();
  assert.equal(again, slab);
  assert.equal(again.length, 0);
  assert.equal(again.free, 16);
});

test('a release too many, or a retain after the last release, is refused: the bytes may already be reused', () => {
  const pool = new SlabPool({ slabBytes: 8, keep: 1 });
  const slab = pool.take();
  slab.release();
  assert.throws(() => slab.release(), (err) => isFault(err, 'internal'));
  assert.throws(() => slab.retain(), (err) => isFault(err, 'internal'));
});

test('the pool keeps at most `keep` idle slabs; more are left to the garbage collector', () => {
  const pool = new SlabPool({ slabBytes: 8, keep: 2 });
  const slabs = [pool.take(), pool.take(), pool.take()];
  for (const slab of slabs) slab.release();
  assert.equal(pool.idle, 2);
});
