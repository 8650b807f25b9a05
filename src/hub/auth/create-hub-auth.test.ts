import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import type { ConfigInput } from '../../base/config.ts';
import { createLogger } from '../../base/log.ts';
import { type AuthFixture, createAuthFixture } from '../../auth/auth-fixture.ts';
import { SqliteSessionStore } from '../../meta/sqlite-session-store.ts';
import { hubErrorHandler } from '../api-errors.ts';
import type { Caller, HubAuth } from '../hub-auth.ts';
import { createHubAuth } from './create-hub-auth.ts';
import { HubSessions, maxSessionsPerUser, sha256 } from './hub-sessions.ts';
import { secureSessionCookieName, sessionCookieName } from './session-cookie.ts';

interface Setup {
  f: AuthFixture;
  auth: HubAuth;
  sessions: HubSessions;
  store: SqliteSessionStore;
  app: FastifyInstance;
  /** A session for `user`: its cookie header and CSRF token. */
  signIn(user: string, password: string): Promise<{ cookie: string; csrf: string }>;
  who(options?: { method?: 'GET' | 'POST'; headers?: Record<string, string> }): Promise<{ status: number; caller?: Caller; retryAfter?: string }>;
}

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const setups: Setup[] = [];
after(async () => {
  for (const s of setups) {
    await s.app.close();
    s.f.close();
  }
});

async function setup(config: ConfigInput = {}): Promise<Setup> {
  const f = await createAuthFixture({ hub: { sessionTtlSeconds: 3600 }, ...config, auth: { mode: 'htpasswd', rateLimit: { failures: 3, windowSeconds: 60 }, ...config.auth } });
  await f.addUser('alice', 'alice-secret');
  await f.addUser('root', 'root-secret', { admin: true });
  const store = new SqliteSessionStore(f.db);
  const auth = createHubAuth({ config: f.config, authServices: f.auth, sessions: store, now: f.now });
  const sessions = new HubSessions({ accounts: f.auth.accounts, sessions: store, ttlSeconds: 3600, now: f.now });
  const app = Fastify();
  app.setErrorHandler(hubErrorHandler(createLogger({ level: 'silent' })));
  app.route({ method: ['GET', 'POST'], url: '/who', handler: async (request) => auth.caller(request) });
  const s: Setup = {
    f,
    auth,
    sessions,
    store,
    app,
    signIn: async (user, password) => {
      const started = await sessions.start(user, password, '10.0.0.1');
      const name = f.config.registry.publicUrl.startsWith('https:') ? secureSessionCookieName : sessionCookieName;
      return { cookie: `other=1; ${name}=${started.cookie}`, csrf: started.csrfToken };
    },
    who: async ({ method = 'GET', headers = {} } = {}) => {
      const response = await app.inject({ method, url: '/who', headers: { host: 'hub.test:5000', ...headers } });
      return { status: response.statusCode, caller: response.statusCode === 200 ? response.json() : undefined, retryAfter: response.headers['retry-after'] as string | undefined };
    },
  };
  setups.push(s);
  return s;
}

describe('HubAuth sessions', () => {
  test('a session cookie names its user; only its sha256 is stored; a stale or unknown cookie is anonymous', async () => {
    const s = await setup();
    const { cookie, csrf } = await s.signIn('alice', 'alice-secret');
    const who = await s.who({ headers: { cookie } });
    assert.equal(who.caller?.via, 'session');
    assert.equal(who.caller?.identity.account, 'alice');
    assert.equal(who.caller?.session?.csrfToken, csrf);
    const value = cookie.split('wharf_session=')[1];
    assert.equal(who.caller?.session?.id, sha256(value));
    assert.equal(await s.store.get(value), undefined, 'the cookie value itself is not a key');
    assert.equal((await s.store.get(sha256(value)))?.user, 'alice');
    assert.equal((await s.who({ headers: { cookie: 'wharf_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } })).caller?.via, 'anonymous');
    assert.equal((await s.who({ headers: { cookie: 'wharf_session=garbage' } })).caller?.via, 'anonymous');
  });

  test('a session expires after hub.sessionTtlSeconds and its row goes', async () => {
    const s = await setup();
    const { cookie } = await s.signIn('alice', 'alice-secret');
    s.f.advance(3599_000);
    assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'session');
    s.f.advance(1000);
    assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'anonymous');
    assert.equal(await s.store.get(sha256(cookie.split('wharf_session=')[1])), undefined);
  });

  test('cookie writes need the CSRF token and, when sent, the same Origin; reads need neither', async () => {
    const s = await setup();
    const { cookie, csrf } = await s.signIn('alice', 'alice-secret');
    assert.equal((await s.who({ headers: { cookie } })).status, 200);
    assert.equal((await s.who({ method: 'POST', headers: { cookie } })).status, 403);
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': `${csrf.slice(1)}x` } })).status, 403);
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': csrf } })).caller?.via, 'session');
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'http://hub.test:5000' } })).status, 200);
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'http://evil.test' } })).status, 403);
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'https://hub.test:5000' } })).status, 403, 'another scheme is another origin');
    const remembered = { authorization: basic('alice', 'alice-secret') };
    assert.equal((await s.who({ method: 'POST', headers: remembered })).caller?.via, 'basic', 'Basic needs no token (curl sends no Origin)');
    assert.equal((await s.who({ method: 'POST', headers: { ...remembered, origin: 'http://evil.test' } })).status, 403, 'a browser\'s remembered Basic from another site');
  });

  test('registry.publicUrl is an allowed origin too (a proxy in front)', async () => {
    const s = await setup({ registry: { publicUrl: 'https://registry.example.com/' } });
    const { cookie, csrf } = await s.signIn('alice', 'alice-secret');
    assert.equal((await s.who({ method: 'POST', headers: { cookie, 'x-csrf-token': csrf, origin: 'https://registry.example.com' } })).caller?.via, 'session');
  });

  test('an https registry.publicUrl reads only the __Host- cookie: a plain wharf_session may be tossed by a sibling host', async () => {
    const s = await setup({ registry: { publicUrl: 'https://registry.example.com/' } });
    const { cookie } = await s.signIn('alice', 'alice-secret');
    assert.match(cookie, /__Host-wharf_session=/);
    assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'session');
    const tossed = cookie.replace('__Host-wharf_session=', 'wharf_session=');
    assert.equal((await s.who({ headers: { cookie: tossed } })).caller?.via, 'anonymous');
  });

  test('every write checks Origin, anonymous ones too: in auth mode none anyone administers', async () => {
    for (const mode of ['none', 'htpasswd'] as const) {
      const s = await setup({ auth: { mode } });
      assert.equal((await s.who({ method: 'POST', headers: { origin: 'http://evil.test' } })).status, 403, mode);
      assert.equal((await s.who({ method: 'POST', headers: { origin: 'http://hub.test:5000' } })).caller?.via, 'anonymous', mode);
      assert.equal((await s.who({ method: 'POST' })).caller?.via, 'anonymous', `${mode}: curl sends no Origin`);
      assert.equal((await s.who({ headers: { origin: 'http://evil.test' } })).caller?.via, 'anonymous', `${mode}: reads are not checked`);
    }
  });

  test(`a user keeps the newest ${maxSessionsPerUser} sessions: signing in again ends the oldest`, async () => {
    const s = await setup();
    const cookies: string[] = [];
    for (let i = 0; i <= maxSessionsPerUser; i++) {
      cookies.push((await s.signIn('alice', 'alice-secret')).cookie);
      s.f.advance(1000);
    }
    const root = await s.signIn('root', 'root-secret');
    assert.equal((await s.who({ headers: { cookie: cookies[0] } })).caller?.via, 'anonymous', 'the oldest ended');
    assert.equal(await s.store.get(sha256(cookies[0].split('wharf_session=')[1])), undefined, 'and its row is gone');
    for (const cookie of [cookies[1], cookies[maxSessionsPerUser]]) assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'session');
    assert.equal((await s.who({ headers: { cookie: root.cookie } })).caller?.via, 'session', 'other users keep theirs');
  });

  test('a disabled user: the session ends, the password and robot tokens fail; enabled again, a new sign-in works', async () => {
    const s = await setup();
    const { cookie } = await s.signIn('alice', 'alice-secret');
    const robot = await s.f.addRobot('alice', ['repository:alice/*:pull']);
    await s.f.users.updateUser('alice', { disabled: true });
    assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'anonymous');
    assert.equal((await s.who({ headers: { authorization: basic('alice', 'alice-secret') } })).status, 401);
    assert.equal((await s.who({ headers: { authorization: basic('alice', robot.password) } })).status, 401);
    await assert.rejects(s.sessions.start('alice', 'alice-secret', '10.0.0.2'), { kind: 'unauthenticated' });
    // Those three refusals counted as failed logins (a disabled account is nobody): let the window pass.
    s.f.advance(61_000);
    await s.f.users.updateUser('alice', { disabled: false });
    assert.equal((await s.who({ headers: { cookie } })).caller?.via, 'anonymous', 'the old session stays ended');
    const again = await s.signIn('alice', 'alice-secret');
    assert.equal((await s.who({ headers: { cookie: again.cookie } })).caller?.via, 'session');
  });

  test('a password change or a deleted user ends the session', async () => {
    const s = await setup();
    const first = await s.signIn('alice', 'alice-secret');
    await s.f.users.updateUser('alice', { passwordHash: (await s.f.users.getUser('root'))?.passwordHash });
    assert.equal((await s.who({ headers: { cookie: first.cookie } })).caller?.via, 'anonymous');
    const second = await s.signIn('root', 'root-secret');
    await s.f.users.deleteUser('root');
    assert.equal((await s.who({ headers: { cookie: second.cookie } })).caller?.via, 'anonymous');
  });

  test('an admin flag taken away holds at once for an open session', async () => {
    const s = await setup();
    const { cookie } = await s.signIn('root', 'root-secret');
    const caller = (await s.who({ headers: { cookie } })).caller as Caller;
    s.auth.requireAdmin(caller);
    await s.f.users.updateUser('root', { admin: false });
    const after = (await s.who({ headers: { cookie } })).caller as Caller;
    assert.throws(() => s.auth.requireAdmin(after), { kind: 'permission-denied' });
  });

  test('robot tokens cannot sign in to the UI but work as Basic, and never administer', async () => {
    const s = await setup();
    const robot = await s.f.addRobot('root', ['repository:team/*:pull']);
    await assert.rejects(s.sessions.start('root', robot.password, '10.0.0.1'), { kind: 'permission-denied' });
    const who = await s.who({ headers: { authorization: basic('root', robot.password) } });
    assert.equal(who.caller?.via, 'basic');
    assert.equal(who.caller?.identity.account, 'root');
    assert.throws(() => s.auth.requireAdmin(who.caller as Caller), { kind: 'permission-denied' });
    assert.equal(s.auth.isAdmin(who.caller as Caller), false, 'an admin account\'s robot token is not an admin');
    assert.deepEqual(s.auth.actions(who.caller as Caller, 'team/app'), ['pull'], 'the scopes cap even an admin account');
    assert.deepEqual(s.auth.actions(who.caller as Caller, 'other/app'), []);
  });

  test('sign-in and Basic failures are rate limited as docker login: 429 with Retry-After', async () => {
    const s = await setup();
    for (let i = 0; i < 3; i++) await assert.rejects(s.sessions.start('alice', 'wrong', '10.0.0.9'), { kind: 'unauthenticated' });
    await assert.rejects(s.sessions.start('alice', 'alice-secret', '10.0.0.9'), (err: { detail?: { retryAfter?: number } }) => (err.detail?.retryAfter ?? 0) > 0);
    const who = await s.who({ headers: { authorization: basic('alice', 'alice-secret') } });
    assert.equal(who.status, 429);
    assert.ok(Number(who.retryAfter) > 0);
  });

  test('a bad Basic header is a 401, none is anonymous', async () => {
    const s = await setup();
    assert.equal((await s.who({ headers: { authorization: basic('alice', 'nope') } })).status, 401);
    assert.equal((await s.who({ headers: { authorization: 'Bearer abc' } })).status, 401);
    assert.equal((await s.who()).caller?.via, 'anonymous');
  });
});

describe('HubAuth decisions', () => {
  const anonymous = (auth: HubAuth, app: FastifyInstance) => app.inject({ url: '/who' }).then((r) => r.json() as Caller).then((caller) => ({ auth, caller }));

  test('without auth.anonymousPull anonymous callers see nothing and get 401s', async () => {
    const s = await setup();
    const { caller } = await anonymous(s.auth, s.app);
    assert.deepEqual(s.auth.actions(caller, 'alice/app'), []);
    assert.deepEqual(s.auth.pullable(caller, ['a', 'b']), []);
    assert.throws(() => s.auth.require(caller, 'alice/app', 'pull'), { kind: 'unauthenticated' });
    assert.throws(() => s.auth.requireAdmin(caller), { kind: 'unauthenticated' });
    assert.equal(s.auth.isAdmin(caller), false);
  });

  test('with auth.anonymousPull anonymous callers pull, and only pull', async () => {
    const s = await setup({ auth: { anonymousPull: true } });
    const { caller } = await anonymous(s.auth, s.app);
    assert.deepEqual(s.auth.actions(caller, 'alice/app'), ['pull']);
    assert.deepEqual(s.auth.pullable(caller, ['b', 'a']), ['b', 'a']);
    assert.throws(() => s.auth.require(caller, 'alice/app', 'push'), { kind: 'unauthenticated' });
  });

  test('signed-in users follow the ACL (default policy: own namespace); admins may do everything', async () => {
    const s = await setup();
    const alice = (await s.who({ headers: { authorization: basic('alice', 'alice-secret') } })).caller as Caller;
    assert.deepEqual(s.auth.actions(alice, 'alice/app'), ['pull', 'push', 'delete']);
    assert.deepEqual(s.auth.actions(alice, 'bob/app'), ['pull']);
    assert.throws(() => s.auth.require(alice, 'bob/app', 'delete'), { kind: 'permission-denied' });
    assert.throws(() => s.auth.requireAdmin(alice), { kind: 'permission-denied' });
    assert.equal(s.auth.isAdmin(alice), false);
    const root = (await s.who({ headers: { authorization: basic('root', 'root-secret') } })).caller as Caller;
    assert.deepEqual(s.auth.actions(root, 'bob/app'), ['pull', 'push', 'delete']);
    s.auth.requireAdmin(root);
    assert.equal(s.auth.isAdmin(root), true);
  });

  test('explicit ACL rules decide for users', async () => {
    const s = await setup({ auth: { acl: [{ match: { account: 'alice', name: 'team/**' }, actions: ['pull'] }] } });
    const alice = (await s.who({ headers: { authorization: basic('alice', 'alice-secret') } })).caller as Caller;
    assert.deepEqual(s.auth.pullable(alice, ['team/a', 'alice/b', 'team/c']), ['team/a', 'team/c']);
    assert.deepEqual(s.auth.actions(alice, 'alice/b'), []);
  });

  test('auth mode none: every caller is an admin with every action, and credentials are ignored', async () => {
    const s = await setup({ auth: { mode: 'none' } });
    const { caller } = await anonymous(s.auth, s.app);
    assert.equal(caller.identity.admin, true);
    assert.deepEqual(s.auth.actions(caller, 'any/thing'), ['pull', 'push', 'delete']);
    assert.deepEqual(s.auth.pullable(caller, ['x', 'y']), ['x', 'y']);
    s.auth.requireAdmin(caller);
    assert.equal(s.auth.isAdmin(caller), true);
    s.auth.require(caller, 'any/thing', 'delete');
    assert.equal((await s.who({ headers: { authorization: basic('alice', 'wrong') } })).caller?.via, 'anonymous');
  });
});
