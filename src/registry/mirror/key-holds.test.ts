import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KeyHolds } from './key-holds.ts';

test('a key is held for holdMs after its hold, then free; the oldest hold is forgotten past the capacity', () => {
  const holds = new KeyHolds({ holdMs: 100, capacity: 2 });
  assert.equal(holds.held('a', 0), false);
  holds.hold('a', 0);
  assert.equal(holds.held('a', 99), true);
  assert.equal(holds.held('a', 100), false);
  assert.equal(holds.held('a', 101), false, 'released once');
  holds.hold('a', 200);
  holds.hold('b', 200);
  holds.hold('c', 200);
  assert.deepEqual(['a', 'b', 'c'].map((k) => holds.held(k, 250)), [false, true, true]);
  holds.hold('b', 260);
  holds.hold('d', 260);
  assert.deepEqual(['b', 'c', 'd'].map((k) => holds.held(k, 270)), [true, false, true], 'a hold renewed is the newest');
});
