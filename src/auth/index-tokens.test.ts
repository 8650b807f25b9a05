import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IndexTokens } from './index-tokens.ts';

function tokens() {
  let now = Date.parse('2030-01-01T00:00:00Z');
  return { t: new IndexTokens({ now: () => now, ttlSeconds: 600 }), advance: (ms: number) => (now += ms) };
}

test('an X-Docker-Token round-trips as the client echoes it, for ten minutes', () => {
  const { t, advance } = tokens();
  const value = t.issue({ account: 'alice', repository: 'alice/app', access: 'write' });
  assert.match(value, /^signature=[0-9a-f]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{43},repository="alice\/app",access=write$/);
  assert.deepEqual(t.verify(`Token ${value}`), { account: 'alice', repository: 'alice/app', access: 'write' });
  assert.deepEqual(t.verify(value), { account: 'alice', repository: 'alice/app', access: 'write' });
  advance(601_000);
  assert.equal(t.verify(`Token ${value}`), undefined);
});

test('anonymous read tokens carry no account', () => {
  const { t } = tokens();
  assert.deepEqual(t.verify(t.issue({ repository: 'library/busybox', access: 'read' })), { account: undefined, repository: 'library/busybox', access: 'read' });
});

test('an altered field, another instance\'s token or garbage is refused', () => {
  const { t } = tokens();
  const value = t.issue({ account: 'alice', repository: 'alice/app', access: 'read' });
  const forgeries = [
    value.replace('access=read', 'access=write'),
    value.replace('alice/app', 'bob/app'),
    value.replace(/signature=[0-9a-f]+/, 'signature=ffffffff'),
    value.replace(`.${Buffer.from('alice').toString('base64url')}.`, `.${Buffer.from('root').toString('base64url')}.`),
    new IndexTokens().issue({ account: 'alice', repository: 'alice/app', access: 'write' }),
    'Token signature=abc,repository="a",access=read',
    '',
    'x'.repeat(5000),
  ];
  for (const forged of forgeries) assert.equal(t.verify(`Token ${forged}`), undefined, forged.slice(0, 60));
  assert.equal(t.verify(undefined), undefined);
});

test('write tokens push and read, delete tokens delete and read, both only on their repository', () => {
  const write = { repository: 'a/b', access: 'write' as const };
  assert.ok(IndexTokens.allows(write, 'a/b', 'push'));
  assert.ok(IndexTokens.allows(write, 'a/b', 'pull'));
  assert.ok(!IndexTokens.allows(write, 'a/b', 'delete'));
  assert.ok(!IndexTokens.allows(write, 'a/c', 'pull'));
  assert.ok(IndexTokens.allows({ repository: 'a/b', access: 'delete' }, 'a/b', 'delete'));
  assert.ok(!IndexTokens.allows({ repository: 'a/b', access: 'read' }, 'a/b', 'push'));
});
