import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseInitVersion, parseRuntimeVersion } from './system-routes.ts';

test('runc --version gives the version and the commit line, as moby parses it', () => {
  const text = 'runc version 1.1.5+ds1\ncommit: 1.1.5+ds1-1+deb12u1\nspec: 1.0.2-dev\ngo: go1.19.8\nlibseccomp: 2.5.4\n';
  assert.deepEqual(parseRuntimeVersion(text), { version: '1.1.5+ds1', commit: '1.1.5+ds1-1+deb12u1' });
  assert.equal(parseRuntimeVersion('nothing useful\n'), undefined);
});

test('tini --version gives the version and the git commit when the build has one', () => {
  assert.deepEqual(parseInitVersion('tini version 0.19.0 - git.de40ad0\n'), { version: '0.19.0', commit: 'de40ad0' });
  assert.deepEqual(parseInitVersion('tini version 0.19.0\n'), { version: '0.19.0', commit: '' });
  assert.equal(parseInitVersion('something else'), undefined);
});
