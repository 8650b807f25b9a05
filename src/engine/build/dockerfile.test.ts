import assert from 'node:assert/strict';
import { test } from 'node:test';
import { execForm, keyValues, parseDockerfile, shellWords, substitute } from './dockerfile.ts';

test('instructions: comments and blank lines dropped, continuations joined, keywords upper-cased', () => {
  const steps = parseDockerfile('# syntax=docker/dockerfile:1\nfrom busybox\n\nRUN echo a \\\n  && echo b\n# inside\nCMD ["sh"]\n');
  assert.deepEqual(
    steps.map((s) => [s.keyword, s.args, s.line]),
    [
      ['FROM', 'busybox', 2],
      ['RUN', 'echo a   && echo b', 4],
      ['CMD', '["sh"]', 7],
    ],
  );
  assert.throws(() => parseDockerfile('# only a comment\n'), /cannot be empty/);
  assert.throws(() => parseDockerfile('FROM busybox\nRUN a \\'), /continuation/);
  assert.throws(() => parseDockerfile('FROM busybox\n123 go\n'), /unknown instruction/);
});

test('exec form, substitution, key=value pairs and shell words', () => {
  assert.deepEqual(execForm('["a", "b c"]'), ['a', 'b c']);
  assert.equal(execForm('echo [x]'), undefined);
  assert.equal(execForm('[1, 2]'), undefined);
  const vars = new Map([['HOME', '/root'], ['EMPTY', '']]);
  assert.equal(substitute('$HOME/${HOME}/${MISSING:-dflt}/${HOME:+set}/${EMPTY:-e}/\\$HOME', vars), '/root//root/dflt/set/e/$HOME');
  assert.deepEqual(keyValues('A=1 B="two words" C=x\\ y', 'ENV'), [['A', '1'], ['B', 'two words'], ['C', 'x y']]);
  assert.deepEqual(keyValues('OLD the old form', 'ENV'), [['OLD', 'the old form']]);
  assert.deepEqual(keyValues('NAME', 'ARG'), [['NAME', '']]);
  assert.throws(() => keyValues('=x', 'LABEL'), /must be followed by =/);
  assert.deepEqual(shellWords(`a "b c" 'd e' f\\ g`), ['a', 'b c', 'd e', 'f g']);
  assert.throws(() => shellWords('"open'), /unmatched/);
});
