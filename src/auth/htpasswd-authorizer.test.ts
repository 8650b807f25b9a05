import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { AuthFixture } from './auth-fixture.ts';
import { createAuthFixture } from './auth-fixture.ts';
import type { Access, AuthRequest } from './authorizer.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const req = (authorization?: string, ip = '127.0.0.1'): AuthRequest => ({ authorization, ip, protocol: 'v2', host: '127.0.0.1:5000' });
const pull = (name: string): Access[] => [{ type: 'repository', name, actions: ['pull'] }];
const push = (name: string): Access[] => [{ type: 'repository', name, actions: ['pull', 'push'] }];

describe('htpasswd mode', () => {
  let f: AuthFixture;
  before(async () => {
    f = await createAuthFixture({ auth: { mode: 'htpasswd', rateLimit: { failures: 3, windowSeconds: 60 } } });
    await f.addUser('alice', 'alice-pw');
    await f.addUser('root', 'root-pw', { admin: true });
  });
  after(() => f.close());
  const authorize = (request: AuthRequest, needs: Access[]) => f.auth.authorizer.authorize(request, needs);

  test('the base check challenges callers without credentials with Basic realm', async () => {
    assert.equal(f.auth.authorizer.mode, 'htpasswd');
    assert.deepEqual(await authorize(req(), []), {
      allowed: false, status: 401, challenge: 'Basic realm="wharf"', code: 'UNAUTHORIZED', message: 'authentication required', detail: [],
    });
    assert.deepEqual(await authorize(req(basic('alice', 'alice-pw')), []), { allowed: true, identity: { account: 'alice', admin: false }, granted: [] });
  });

  test('a user pushes under their namespace and is denied elsewhere with DENIED and the access in detail', async () => {
    const own = await authorize(req(basic('alice', 'alice-pw')), push('alice/app'));
    assert.equal(own.allowed, true);
    assert.deepEqual(await authorize(req(basic('alice', 'alice-pw')), push('bob/app')), {
      allowed: false, status: 403, code: 'DENIED', message: 'requested access to the resource is denied',
      detail: [{ Type: 'repository', Name: 'bob/app', Action: 'pull' }, { Type: 'repository', Name: 'bob/app', Action: 'push' }],
    });
    assert.equal((await authorize(req(basic('root', 'root-pw')), push('bob/app'))).allowed, true);
  });

  test('anonymous callers, a wrong password, Bearer and garbage all get 401 with the challenge, never access', async () => {
    for (const header of [undefined, basic('alice', 'nope'), 'Bearer abc', 'Basic !!', `Basic ${'A'.repeat(20000)}`, 'Negotiate x']) {
      const decision = await authorize(req(header, '9.9.9.9'), pull('alice/app'));
      assert.equal(decision.allowed, false, String(header).slice(0, 20));
      assert.equal(!decision.allowed && decision.status, 401);
      assert.equal(!decision.allowed && decision.challenge, 'Basic realm="wharf"');
      assert.deepEqual(!decision.allowed && decision.detail, [{ Type: 'repository', Name: 'alice/app', Action: 'pull' }]);
    }
  });

  test('a robot token as password is capped by its scopes', async () => {
    const robot = await f.addRobot('alice', ['repository:alice/app:pull']);
    assert.equal((await authorize(req(basic('alice', robot.password)), pull('alice/app'))).allowed, true);
    const pushing = await authorize(req(basic('alice', robot.password)), push('alice/app'));
    assert.equal(!pushing.allowed && pushing.status, 403);
    assert.deepEqual(await f.auth.authorizer.filterPullable({ account: 'alice', admin: false, scopes: [{ type: 'repository', name: 'alice/app', actions: ['pull'] }] }, ['alice/app', 'alice/other', 'bob/x'], '1.1.1.1'), ['alice/app']);
  });

  test('after repeated failures the account answers 429 TOOMANYREQUESTS with a retry delay', async () => {
    for (let i = 0; i < 3; i++) await authorize(req(basic('alice', `bad-${i}`), '5.5.5.5'), []);
    const limited = await authorize(req(basic('alice', 'alice-pw'), '6.6.6.6'), []);
    assert.equal(!limited.allowed && limited.status, 429);
    assert.equal(!limited.allowed && limited.code, 'TOOMANYREQUESTS');
    assert.ok(!limited.allowed && (limited.retryAfter ?? 0) > 0);
    f.advance(61_000);
    assert.equal((await authorize(req(basic('alice', 'alice-pw'), '6.6.6.6'), [])).allowed, true);
  });
});

describe('htpasswd mode with anonymous pull', () => {
  test('anonymous callers pull but may not push, and see every name in the catalog', async () => {
    const f = await createAuthFixture({ auth: { mode: 'htpasswd', anonymousPull: true } });
    try {
      assert.equal((await f.auth.authorizer.authorize(req(), pull('any/thing'))).allowed, true);
      const pushing = await f.auth.authorizer.authorize(req(), push('any/thing'));
      assert.equal(!pushing.allowed && pushing.status, 401);
      assert.deepEqual(await f.auth.authorizer.filterPullable({ admin: false }, ['a', 'b/c'], '1.1.1.1'), ['a', 'b/c']);
    } finally {
      f.close();
    }
  });
});
