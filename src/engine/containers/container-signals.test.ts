import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseSignal } from './container-signals.ts';

test('names with and without SIG, any case, and numbers are accepted', () => {
  assert.equal(parseSignal('KILL').number, 9);
  assert.equal(parseSignal('sigterm').number, 15);
  assert.equal(parseSignal('9').name, 'SIGKILL');
  assert.equal(parseSignal('WINCH').number, 28);
});

test('unknown signals are refused with moby wording', () => {
  assert.throws(() => parseSignal('FOO'), /Invalid signal: FOO/);
  assert.throws(() => parseSignal('99'), /Invalid signal: 99/);
});
