import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compileRepositoryGlob } from '../registry/retention/repository-glob.ts';
import { compileAcl } from './acl.ts';
import { globSource } from './glob-source.ts';

test('one glob reading: * and ? within a component, ** across them, everything else literal', () => {
  const glob = (pattern: string) => new RegExp(`^${globSource(pattern)}$`);
  assert.ok(glob('team/*').test('team/app'));
  assert.ok(!glob('team/*').test('team/a/b'));
  assert.ok(glob('team/**').test('team/a/b'));
  assert.ok(glob('app?').test('app1') && !glob('app?').test('app/'));
  assert.ok(!glob('a.b').test('axb'), 'a dot is literal');
  // Retention and the ACL read a pattern through it.
  assert.equal(compileRepositoryGlob('prod/**/x?').source, glob('prod/**/x?').source);
  const acl = compileAcl([{ match: { name: 'prod/*' }, actions: ['pull'] }]);
  const ctx = { identity: { account: 'a', admin: false }, ip: '127.0.0.1', anonymousPull: false };
  assert.deepEqual(acl.pullable(ctx, ['prod/app', 'prod/a/b', 'dev/app']), ['prod/app']);
});
