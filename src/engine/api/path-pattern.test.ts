import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isFault } from '../../base/fault.ts';
import { compilePathPattern } from './path-pattern.ts';

const match = (pattern: string, name: string) => compilePathPattern(pattern)(name);

test('path.Match semantics: * and ? within a component, classes, escapes', () => {
  assert.ok(match('busybox', 'busybox'));
  assert.ok(match('busy*', 'busybox'));
  assert.ok(!match('*', 'library/busybox'));
  assert.ok(match('*/*', 'library/busybox'));
  assert.ok(match('busybox:*', 'busybox:latest'));
  assert.ok(match('b?sybox', 'busybox'));
  assert.ok(!match('a?b', 'a/b'));
  assert.ok(match('[a-c]usybox', 'busybox'));
  assert.ok(!match('[^a-c]usybox', 'busybox'));
  assert.ok(match('a\\*', 'a*'));
  assert.ok(!match('a\\*', 'ab'));
  assert.ok(match('[\\]]', ']'));
  assert.ok(!match('busybox', 'busybox:latest'));
  assert.ok(match('', ''));
});

test('a malformed pattern is an invalid-argument Fault', () => {
  for (const pattern of ['[[', '[', '[]', '[a-', 'a\\', '[-a]', '[^]']) {
    assert.throws(() => compilePathPattern(pattern), (err) => isFault(err, 'invalid-argument') && /syntax error in pattern/.test(err.message), pattern);
  }
});

test('many stars against a long name answer at once (no backtracking)', () => {
  const started = Date.now();
  assert.ok(!match(`${'*a'.repeat(40)}*b`, 'a'.repeat(250)));
  assert.ok(Date.now() - started < 1000);
});
