import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { covers, formatScope, parseScope, parseScopes, restrict } from './scope.ts';

describe('scopes', () => {
  test('repository and catalog scopes parse as the token spec writes them', () => {
    assert.deepEqual(parseScope('repository:samalba/my-app:pull,push'), { type: 'repository', name: 'samalba/my-app', actions: ['pull', 'push'] });
    assert.deepEqual(parseScope('repository(plugin):team/p:pull'), { type: 'repository', name: 'team/p', actions: ['pull'] });
    assert.deepEqual(parseScope('registry:catalog:*'), { type: 'registry', name: 'catalog', actions: ['*'] });
    assert.deepEqual(parseScope('repository:a:pull,pull'), { type: 'repository', name: 'a', actions: ['pull'] });
    assert.equal(formatScope(parseScope('repository:a/b:pull,push')), 'repository:a/b:pull,push');
  });

  test('scopes come repeated and space-separated', () => {
    assert.deepEqual(parseScopes(['repository:a:pull repository:b:push', 'registry:catalog:*']).map((s) => s.name), ['a', 'b', 'catalog']);
    assert.deepEqual(parseScopes([]), []);
    assert.throws(() => parseScopes([Array.from({ length: 65 }, (_, i) => `repository:r${i}:pull`).join(' ')]), /more than 64/);
  });

  const bad = [
    '',
    'repository',
    'repository:a',
    'repository::pull',
    'repository:a:fly',
    'repository:a:',
    'Repo:a:pull',
    'repository:UPPER:pull',
    'repository:../etc:pull',
    'repository:a/../b:pull',
    'repository:a//b:pull',
    'repository:/abs:pull',
    'repository:localhost:5000/app:pull',
    'repository:team/*:pull',
    'registry:other:*',
    'blob:a:pull',
    `repository:${'a'.repeat(2000)}:pull`,
  ];
  for (const scope of bad) {
    test(`"${scope.slice(0, 40)}" is refused with SCOPE_INVALID`, () => {
      assert.throws(() => parseScope(scope), (err: { code?: string }) => err.code === 'SCOPE_INVALID');
    });
  }

  test('the token server keeps actions it does not know, for the ACL to leave out; they must still look like one', () => {
    assert.deepEqual(parseScope('registry:catalog:search', { anyAction: true }).actions, ['search']);
    assert.deepEqual(parseScope('repository:a:pull,fly', { anyAction: true }).actions, ['pull', 'fly']);
    for (const scope of ['repository:a:FLY', 'repository:a:pu ll', 'repository:a:', 'repository:a:x!']) {
      assert.throws(() => parseScope(scope, { anyAction: true }), /invalid scope/, scope);
    }
    assert.throws(() => parseScope('registry:catalog:search'), /invalid scope/, 'robot scopes still take only the known actions');
  });

  test('robot-token scopes may use globs, still within the name characters', () => {
    assert.equal(parseScope('repository:team/*:pull', { namePatterns: true }).name, 'team/*');
    assert.equal(parseScope('repository:**:pull,push', { namePatterns: true }).name, '**');
    for (const scope of ['repository:/^a$/:pull', 'repository:a//b:pull', 'repository:A*:pull', 'repository:a b:pull']) {
      assert.throws(() => parseScope(scope, { namePatterns: true }), /invalid scope/, scope);
    }
  });
});

describe('covers and restrict', () => {
  const granted = [{ type: 'repository', name: 'a', actions: ['pull'] }];
  test('covers needs every action of every access', () => {
    assert.ok(covers(granted, [{ type: 'repository', name: 'a', actions: ['pull'] }]));
    assert.ok(covers(granted, []));
    assert.ok(!covers(granted, [{ type: 'repository', name: 'a', actions: ['pull', 'push'] }]));
    assert.ok(!covers(granted, [{ type: 'repository', name: 'b', actions: ['pull'] }]));
    assert.ok(!covers(granted, [{ type: 'registry', name: 'a', actions: ['pull'] }]));
    assert.ok(covers([{ type: 'registry', name: 'catalog', actions: ['*'] }], [{ type: 'registry', name: 'catalog', actions: ['*'] }]));
  });
  test('restrict caps a grant by robot scopes, with globs', () => {
    assert.deepEqual(restrict([{ type: 'repository', name: 'a', actions: ['pull', 'push'] }], granted)[0].actions, ['pull']);
    const team = [{ type: 'repository', name: 'team/*', actions: ['pull', 'push'] }];
    assert.deepEqual(restrict([{ type: 'repository', name: 'team/app', actions: ['pull', 'push', 'delete'] }], team)[0].actions, ['pull', 'push']);
    assert.deepEqual(restrict([{ type: 'repository', name: 'team/app/x', actions: ['pull'] }], team)[0].actions, []);
    assert.deepEqual(restrict(granted, undefined), granted);
  });
});
