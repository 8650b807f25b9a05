import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeFilter, parseDetachKeys } from './detach-keys.ts';

test('detach keys as moby/term spells them', () => {
  assert.deepEqual([...parseDetachKeys(undefined)], [16, 17]);
  assert.deepEqual([...parseDetachKeys('ctrl-a,x,ctrl-@,ctrl-_,DEL')], [1, 120, 0, 31, 127]);
  assert.throws(() => parseDetachKeys('ctrl-'), /^Fault: Invalid detach keys \(ctrl-\) provided$/);
  assert.throws(() => parseDetachKeys('a,,b'), /Invalid detach keys/);
});

test('the escape proxy holds single-byte matches, releases them on a mismatch, detaches on the whole sequence', () => {
  const filter = escapeFilter(Buffer.from([16, 17]));
  assert.deepEqual(filter(Buffer.from('ab')), { forward: Buffer.from('ab'), detach: false });
  assert.deepEqual(filter(Buffer.from([16])), { forward: Buffer.alloc(0), detach: false });
  assert.deepEqual(filter(Buffer.from('x')), { forward: Buffer.from([16, 120]), detach: false });
  assert.deepEqual(filter(Buffer.from([16, 17])), { forward: Buffer.from([16, 17]), detach: false }, 'one multi-byte read is input, as in moby');
  filter(Buffer.from([16]));
  assert.equal(filter(Buffer.from([17])).detach, true);
});
