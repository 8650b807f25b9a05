import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hasWildcards, matchPath } from './source-glob.ts';

// Go's path/filepath match_test.go cases; a malformed pattern (ErrBadPattern there) matches nothing here.
const cases: [string, string, boolean][] = [
  ['abc', 'abc', true],
  ['*', 'abc', true],
  ['*c', 'abc', true],
  ['a*', 'a', true],
  ['a*', 'abc', true],
  ['a*', 'ab/c', false],
  ['a*/b', 'abc/b', true],
  ['a*/b', 'a/c/b', false],
  ['a*b*c*d*e*/f', 'axbxcxdxe/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/f', true],
  ['a*b*c*d*e*/f', 'axbxcxdxe/xxx/f', false],
  ['a*b*c*d*e*/f', 'axbxcxdxexxx/fff', false],
  ['a*b?c*x', 'abxbbxdbxebxczzx', true],
  ['a*b?c*x', 'abxbbxdbxebxczzy', false],
  ['ab[c]', 'abc', true],
  ['ab[b-d]', 'abc', true],
  ['ab[e-g]', 'abc', false],
  ['ab[^c]', 'abc', false],
  ['ab[^b-d]', 'abc', false],
  ['ab[^e-g]', 'abc', true],
  ['a\\*b', 'a*b', true],
  ['a\\*b', 'ab', false],
  ['a?b', 'a☺b', true],
  ['a[^a]b', 'a☺b', true],
  ['a???b', 'a☺b', false],
  ['[a-ζ]*', 'α', true],
  ['*[a-ζ]', 'A', false],
  ['a?b', 'a/b', false],
  ['a*b', 'a/b', false],
  ['[\\]a]', ']', true],
  ['[\\-]', '-', true],
  ['[x\\-]', 'x', true],
  ['[x\\-]', '-', true],
  ['[x\\-]', 'z', false],
  ['[\\-x]', 'x', true],
  ['[\\-x]', 'a', false],
  ['[]a]', ']', false],
  ['[-]', '-', false],
  ['[x-]', 'x', false],
  ['[-x]', 'x', false],
  ['\\', 'a', false],
  ['[a-b-c]', 'a', false],
  ['[', 'a', false],
  ['[^', 'a', false],
  ['[^bc', 'a', false],
  ['a[', 'ab', false],
  ['*x', 'xxx', true],
  ['src/*.go', 'src/main.go', true],
  ['src/*.go', 'src/sub/main.go', false],
];

test('wildcards match as Go filepath.Match does, per path element', () => {
  for (const [pattern, name, want] of cases) assert.equal(matchPath(pattern, name), want, `Match(${pattern}, ${name})`);
});

test('only unescaped *, ? and [ make a source a wildcard', () => {
  assert.equal(hasWildcards('a/*.txt'), true);
  assert.equal(hasWildcards('file?'), true);
  assert.equal(hasWildcards('[ab]'), true);
  assert.equal(hasWildcards('a\\*b'), false);
  assert.equal(hasWildcards('plain/path.txt'), false);
});
