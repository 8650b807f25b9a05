import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { type AclContext, type AclRule, compileAcl, compilePattern, grant, pullableNames } from './acl.ts';
import type { Identity } from './authorizer.ts';

const user = (account: string, extra: Partial<Identity> = {}): Identity => ({ account, admin: false, ...extra });
const anon: Identity = { admin: false };
const admin: Identity = { account: 'root', admin: true };
const ctx = (identity: Identity, ip = '10.1.2.3', anonymousPull = false): AclContext => ({ identity, ip, anonymousPull });
const repo = (name: string) => ({ type: 'repository', name });
const all = ['pull', 'push', 'delete', '*'];

describe('the default policy (no rules)', () => {
  const acl = compileAcl([]);
  const cases: [string, AclContext, string, string[]][] = [
    ['admins may do everything', ctx(admin), 'x/y', all],
    ['a user owns <account>/…', ctx(user('alice')), 'alice/app', ['pull', 'push', 'delete']],
    ['a user owns nested names under <account>/', ctx(user('alice')), 'alice/a/b', ['pull', 'push', 'delete']],
    ['a user pulls what others own', ctx(user('alice')), 'bob/app', ['pull']],
    ['a user pulls top-level names', ctx(user('alice')), 'busybox', ['pull']],
    ['a name prefix is not a namespace', ctx(user('alice')), 'alice-evil/app', ['pull']],
    ['the account itself as a name is not under it', ctx(user('alice')), 'alice', ['pull']],
    ['anonymous callers get nothing', ctx(anon), 'alice/app', []],
    ['anonymous callers pull with anonymousPull', ctx(anon, '1.2.3.4', true), 'alice/app', ['pull']],
  ];
  for (const [sentence, context, name, want] of cases) {
    test(sentence, () => assert.deepEqual(acl.allowedActions(context, repo(name)), want));
  }
  test('the catalog is readable by signed-in users (its listing is filtered) and by anonymous only with anonymousPull', () => {
    assert.deepEqual(acl.allowedActions(ctx(user('alice')), { type: 'registry', name: 'catalog' }), ['*', 'search']);
    assert.deepEqual(acl.allowedActions(ctx(anon), { type: 'registry', name: 'catalog' }), []);
    assert.deepEqual(acl.allowedActions(ctx(anon, '::1', true), { type: 'registry', name: 'catalog' }), ['*', 'search']);
  });
  test('unknown resource types get nothing, even from the catch-all of a user', () => {
    assert.deepEqual(acl.allowedActions(ctx(user('alice')), { type: 'plugin', name: 'alice/app' }), []);
  });
});

describe('ordered rules, first match wins', () => {
  const rules: AclRule[] = [
    { match: { account: 'ci-*', name: 'release/**' }, actions: ['pull', 'push'] },
    { match: { name: '${account}/*' }, actions: ['*'] },
    { match: { name: '/^public\\//' }, actions: ['pull'] },
    { match: { account: '' , name: 'demo/*' }, actions: ['pull'] },
    { match: { account: '/^(bob|carol)$/', ip: '192.168.0.0/16, fd00::/8' }, actions: ['pull', 'delete'] },
    { match: { ip: '10.0.0.0/8' }, actions: ['pull'] },
  ];
  const acl = compileAcl(rules);
  const cases: [string, AclContext, string, string[]][] = [
    ['an account glob with a name glob across components', ctx(user('ci-bot')), 'release/a/b', ['pull', 'push']],
    ['an account glob does not match another account', ctx(user('alice'), '8.8.8.8'), 'release/a/b', []],
    ['${account} expands to the caller', ctx(user('alice')), 'alice/app', all],
    ['* stays within one path component (falls to the CIDR rule)', ctx(user('alice')), 'alice/app/deeper', ['pull']],
    ['${account} never matches another account', ctx(user('alice'), '8.8.8.8'), 'bob/app', []],
    ['a /regex/ on the name', ctx(anon), 'public/thing', ['pull']],
    ['account "" matches anonymous callers', ctx(anon, '8.8.8.8'), 'demo/x', ['pull']],
    ['account "" does not match signed-in callers', ctx(user('dave'), '8.8.8.8'), 'demo/x', []],
    ['an account /regex/ and an IPv4 CIDR from a list', ctx(user('bob'), '192.168.4.5'), 'any/thing', ['pull', 'delete']],
    ['an IPv6 CIDR from the list', ctx(user('carol'), 'fd00::17'), 'any/thing', ['pull', 'delete']],
    ['IPv4-mapped IPv6 addresses match IPv4 CIDRs', ctx(user('bob'), '::ffff:192.168.4.5'), 'any/thing', ['pull', 'delete']],
    ['outside every CIDR nothing matches', ctx(user('bob'), '172.16.0.1'), 'any/thing', []],
    ['a CIDR alone matches anyone inside it', ctx(anon, '10.9.9.9'), 'private/thing', ['pull']],
    ['no rule matches: nothing', ctx(anon, '127.0.0.1'), 'private/thing', []],
    ['admins bypass the rules', ctx(admin, '127.0.0.1'), 'private/thing', all],
    ['an unparsable client address matches no CIDR', ctx(user('bob'), 'not-an-ip'), 'any/thing', []],
  ];
  for (const [sentence, context, name, want] of cases) {
    test(sentence, () => assert.deepEqual(acl.allowedActions(context, repo(name)), want));
  }
  test('globs never match anonymous callers in `account`', () => {
    const star = compileAcl([{ match: { account: '*' }, actions: ['pull'] }]);
    assert.deepEqual(star.allowedActions(ctx(anon), repo('a/b')), []);
    assert.deepEqual(star.allowedActions(ctx(user('x1')), repo('a/b')), ['pull']);
  });
});

describe('patterns', () => {
  const cases: [string, string, string, boolean][] = [
    ['team/*', 'team/app', 'x', true],
    ['team/*', 'team/app/sub', 'x', false],
    ['team/**', 'team/app/sub', 'x', true],
    ['team/ap?', 'team/app', 'x', true],
    ['team/ap?', 'team/ap/', 'x', false],
    ['a.c', 'abc', 'x', false],
    ['a.c', 'a.c', 'x', true],
    ['/^a.c$/', 'abc', 'x', true],
    ['/^${account}\\//', 'bob/x', 'bob', true],
    ['${account}/*', 'bob/x', 'bob', true],
    // An account name full of glob or regex characters is matched literally, never as a pattern.
    ['${account}/*', 'victim/x', '*', false],
    ['${account}/*', 'v/x', '.', false],
    ['/^${account}\\//', 'victim/x', '.*', false],
    ['${account}/*', '/x', '', false],
  ];
  for (const [pattern, value, account, want] of cases) {
    test(`${pattern} ${want ? 'matches' : 'does not match'} ${value} for account "${account}"`, () => {
      assert.equal(compilePattern(pattern).matches(value, account), want);
    });
  }
});

describe('bad rules fail when compiled, not on a request', () => {
  const bad: [string, AclRule][] = [
    ['an unknown action', { match: {}, actions: ['pul'] }],
    ['an invalid regex', { match: { name: '/(/' }, actions: ['pull'] }],
    ['an invalid CIDR', { match: { ip: '10.0.0.0/33' }, actions: ['pull'] }],
    ['a CIDR that is no address', { match: { ip: 'example.com/8' }, actions: ['pull'] }],
    ['a CIDR with a trailing slash', { match: { ip: '10.0.0.0/' }, actions: ['pull'] }],
  ];
  for (const [sentence, rule] of bad) {
    test(sentence, () => assert.throws(() => compileAcl([rule]), (err: Error) => /auth\.acl\[0\]/.test(err.message)));
  }
});

describe('grants, robot scopes and the catalog', () => {
  test('a grant is the intersection of what was asked and what is allowed', () => {
    const granted = compileAcl([]).grant(ctx(user('alice')), [repo('bob/app'), repo('alice/app')].map((r) => ({ ...r, actions: ['pull', 'push'] })));
    assert.deepEqual(granted, [
      { type: 'repository', name: 'bob/app', actions: ['pull'] },
      { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] },
    ]);
  });

  test('a robot identity is capped by its scopes, globs included, even for admins', () => {
    const robot = user('alice', { tokenId: 'abc', scopes: [{ type: 'repository', name: 'alice/*', actions: ['pull'] }] });
    const acl = compileAcl([]);
    assert.deepEqual(acl.allowedActions(ctx(robot), repo('alice/app')), ['pull']);
    assert.deepEqual(acl.allowedActions(ctx(robot), repo('bob/app')), []);
    assert.deepEqual(acl.allowedActions(ctx(robot), { type: 'registry', name: 'catalog' }), []);
    const adminRobot = { ...admin, tokenId: 'def', scopes: [{ type: 'repository', name: '**', actions: ['pull'] }] };
    assert.deepEqual(acl.allowedActions(ctx(adminRobot), repo('x/y/z')), ['pull']);
    // The raw-rules function the v1 routes call honours the cap too.
    assert.deepEqual(grant([], ctx(robot), [{ type: 'repository', name: 'alice/app', actions: ['pull', 'push'] }])[0].actions, ['pull']);
  });

  test('the catalog lists only what the caller may pull', () => {
    assert.deepEqual(pullableNames([], ctx(anon), ['a/b', 'c/d']), []);
    assert.deepEqual(pullableNames([], ctx(anon, '::1', true), ['a/b', 'c/d']), ['a/b', 'c/d']);
    assert.deepEqual(pullableNames([{ match: { name: 'a/*' }, actions: ['pull'] }], ctx(user('alice')), ['a/b', 'c/d']), ['a/b']);
    assert.deepEqual(pullableNames([{ match: { name: 'a/*' }, actions: ['push'] }], ctx(user('alice')), ['a/b']), [], 'push alone does not list');
  });
});
