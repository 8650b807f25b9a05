import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cleanPath, leavesRoot } from './go-path.ts';

describe('go-path', () => {
  it('cleans as Go path.Clean does', () => {
    const cases: [string, string][] = [['', '.'], ['.', '.'], ['./', '.'], ['a/', 'a'], ['/', '/'], ['//a//b/', '/a/b'], ['a/../..', '..'], ['/../x', '/x'], ['./a/./b', 'a/b']];
    for (const [input, clean] of cases) assert.equal(cleanPath(input), clean, input);
  });

  it('tells a relative path that climbs out of its root', () => {
    for (const out of ['..', '../x', 'a/../../x', './..']) assert.equal(leavesRoot(out), true, out);
    for (const inside of ['.', 'a', 'a/..', '..x', 'a/../b', '...']) assert.equal(leavesRoot(inside), false, inside);
  });
});
