import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import bcrypt from 'bcryptjs';
import { type TestWharf, startTestWharf } from '../../../test/support/wharf.ts';
import { sqliteMeta } from '../../main/open-meta.ts';
import { openDatabase } from '../../meta/sqlite-database.ts';
import type { ApiErrorBody, CreatedToken, SessionInfo, TokenRow, UserRow } from '../../web/api-types.ts';

interface Call {
  body?: unknown;
  /** [user, password] for a Basic header. */
  basic?: [string, string];
  cookie?: string;
  csrf?: string;
  origin?: string;
}

const passwords: Record<string, string> = { alice: 'alice-secret', root: 'root-secret', bob: 'bob-secret' };
const as = (name: string): Call => ({ basic: [name, passwords[name]] });
const anonymous: Call = {};

/**
 * A wharf in htpasswd mode whose users (alice, bob; root the admin) are in its user store; `htpasswd` is the content
 * of an auth.htpasswd file, `publicUrl` registry.publicUrl.
 */
async function startAccountsWharf(
  rateLimit = { failures: 100, windowSeconds: 60 },
  auth: { mode: 'none' | 'htpasswd'; anonymousPull?: boolean } = { mode: 'htpasswd' },
  extra: { htpasswd?: string; publicUrl?: string } = {},
): Promise<{ wharf: TestWharf; close(): Promise<void> }> {
  const root = mkdtempSync(join(tmpdir(), 'wharf-hub-accounts-'));
  const htpasswd = extra.htpasswd === undefined ? {} : { htpasswd: join(root, 'htpasswd') };
  if (htpasswd.htpasswd) writeFileSync(htpasswd.htpasswd, extra.htpasswd ?? '');
  const stores = sqliteMeta(openDatabase(join(root, 'meta.db')), 'test');
  for (const name of Object.keys(passwords)) {
    await stores.users.addUser({ name, passwordHash: await bcrypt.hash(passwords[name], 4), admin: name === 'root', email: '', createdAt: '2030-01-01T00:00:00.000Z' });
  }
  await stores.close();
  const config = extra.publicUrl ? { registry: { publicUrl: extra.publicUrl } } : {};
  const wharf = await startTestWharf({ root, config, auth: { ...auth, ...htpasswd, rateLimit } });
  return { wharf, close: async () => { await wharf.close(); rmSync(root, { recursive: true, force: true }); } };
}

function client(wharf: TestWharf) {
  return (method: string, path: string, call: Call = {}) => {
    const headers: Record<string, string> = {};
    if (call.body !== undefined) headers['content-type'] = 'application/json';
    if (call.basic) headers.authorization = `Basic ${Buffer.from(call.basic.join(':')).toString('base64')}`;
    if (call.cookie) headers.cookie = call.cookie;
    if (call.csrf) headers['x-csrf-token'] = call.csrf;
    if (call.origin) headers.origin = call.origin;
    return fetch(`${wharf.url}${path}`, { method, headers, body: call.body === undefined ? undefined : JSON.stringify(call.body) });
  };
}

async function assertError(response: Response, status: number, code: string, message?: RegExp): Promise<void> {
  assert.equal(response.status, status, `${response.url}: ${response.status}`);
  assert.equal(response.headers.get('www-authenticate'), null, 'no browser dialog');
  const body = (await response.json()) as ApiErrorBody;
  assert.equal(body.errors[0].code, code);
  if (message) assert.match(body.errors[0].message, message);
}

describe('hub API: sessions, users, tokens', () => {
  let hub: { wharf: TestWharf; close(): Promise<void> };
  let api: ReturnType<typeof client>;
  before(async () => {
    hub = await startAccountsWharf();
    api = client(hub.wharf);
  });
  after(() => hub.close());

  const signIn = async (username: string, password = passwords[username]) => {
    const response = await api('POST', '/api/v1/session', { body: { username, password } });
    assert.equal(response.status, 200);
    const info = (await response.json()) as SessionInfo;
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0];
    return { info, cookie, csrf: info.csrfToken ?? '', setCookie: response.headers.get('set-cookie') ?? '' };
  };

  test('GET /session: anonymous, and who a Basic caller is', async () => {
    const info = (await (await api('GET', '/api/v1/session')).json()) as SessionInfo;
    assert.deepEqual(info, { user: null, csrfToken: null, authMode: 'htpasswd', anonymousBrowse: false });
    const basic = (await (await api('GET', '/api/v1/session', as('root'))).json()) as SessionInfo;
    assert.deepEqual(basic.user, { name: 'root', admin: true });
    assert.equal(basic.csrfToken, null);
    await assertError(await api('GET', '/api/v1/session', { basic: ['alice', 'wrong'] }), 401, 'UNAUTHORIZED');
  });

  test('POST /session signs in with a cookie (HttpOnly, SameSite=Strict, Path=/), DELETE signs out with the CSRF token', async () => {
    const { info, cookie, csrf, setCookie } = await signIn('alice');
    assert.deepEqual(info.user, { name: 'alice', admin: false });
    assert.match(csrf, /^[A-Za-z0-9_-]{43}$/);
    assert.match(cookie, /^wharf_session=[A-Za-z0-9_-]{43}$/);
    const flags = setCookie.split(';').map((s) => s.trim());
    for (const flag of ['HttpOnly', 'SameSite=Strict', 'Path=/', 'Max-Age=43200']) assert.ok(flags.includes(flag), `${flag} in ${setCookie}`);
    assert.ok(!flags.includes('Secure'), 'plain http: a Secure cookie would be dropped');
    const me = (await (await api('GET', '/api/v1/session', { cookie })).json()) as SessionInfo;
    assert.deepEqual(me.user, { name: 'alice', admin: false });
    assert.equal(me.csrfToken, csrf);
    await assertError(await api('DELETE', '/api/v1/session', { cookie }), 403, 'DENIED', /csrf/);
    await assertError(await api('DELETE', '/api/v1/session', { cookie, csrf, origin: 'http://evil.example' }), 403, 'DENIED', /origin/);
    const out = await api('DELETE', '/api/v1/session', { cookie, csrf, origin: hub.wharf.url });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /^wharf_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0/);
    assert.equal(((await (await api('GET', '/api/v1/session', { cookie })).json()) as SessionInfo).user, null);
    assert.equal((await api('DELETE', '/api/v1/session')).status, 204, 'signing out twice is harmless');
  });

  test('POST /session refuses bad input, wrong passwords, robot tokens and other sites', async () => {
    await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice' } }), 400, 'INVALID', /password/);
    await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice', password: 'x', extra: 1 } }), 400, 'INVALID');
    await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice', password: 'nope' } }), 401, 'UNAUTHORIZED');
    const token = (await (await api('POST', '/api/v1/tokens', { ...as('root'), body: { user: 'alice', scopes: [], description: 'ci' } })).json()) as CreatedToken;
    await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice', password: token.secret } }), 403, 'DENIED', /robot/);
    await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice', password: passwords.alice }, origin: 'http://evil.example' }), 403, 'DENIED');
  });

  test('GET/POST /users: 401 anonymous, 403 users, admins list and add; bad input is a 400 naming the field', async () => {
    await assertError(await api('GET', '/api/v1/users', anonymous), 401, 'UNAUTHORIZED');
    await assertError(await api('GET', '/api/v1/users', as('alice')), 403, 'DENIED');
    const list = (await (await api('GET', '/api/v1/users', as('root'))).json()) as { users: UserRow[] };
    assert.deepEqual(list.users.map((u) => [u.name, u.admin, u.disabled]), [['alice', false, false], ['bob', false, false], ['root', true, false]]);
    const body = { name: 'carol', password: 'carol-secret', email: 'c@example.com' };
    await assertError(await api('POST', '/api/v1/users', { ...anonymous, body }), 401, 'UNAUTHORIZED');
    await assertError(await api('POST', '/api/v1/users', { ...as('alice'), body }), 403, 'DENIED');
    const created = await api('POST', '/api/v1/users', { ...as('root'), body });
    assert.equal(created.status, 201);
    const row = (await created.json()) as UserRow;
    assert.deepEqual({ ...row, createdAt: '' }, { name: 'carol', admin: false, disabled: false, email: 'c@example.com', createdAt: '' });
    assert.equal((await api('GET', '/api/v1/session', { basic: ['carol', 'carol-secret'] })).status, 200, 'the new password works');
    await assertError(await api('POST', '/api/v1/users', { ...as('root'), body }), 409, 'CONFLICT');
    await assertError(await api('POST', '/api/v1/users', { ...as('root'), body: { ...body, name: 'Bad Name' } }), 400, 'INVALID', /^name: a user name is/);
    await assertError(await api('POST', '/api/v1/users', { ...as('root'), body: { name: 'dave', password: 'abc' } }), 400, 'INVALID', /^password:/);
    await assertError(await api('POST', '/api/v1/users', { ...as('root'), body: { name: 'dave', password: 'dave-secret', admin: 'yes' } }), 400, 'INVALID', /^admin:/);
  });

  test('PATCH /users/:name: a new password ends the sessions, disabled refuses everything, admins cannot lock themselves out', async () => {
    await assertError(await api('PATCH', '/api/v1/users/bob', { ...anonymous, body: { email: 'b@x' } }), 401, 'UNAUTHORIZED');
    await assertError(await api('PATCH', '/api/v1/users/bob', { ...as('alice'), body: { email: 'b@x' } }), 403, 'DENIED');
    const bob = await signIn('bob');
    const changed = await api('PATCH', '/api/v1/users/bob', { ...as('root'), body: { password: 'bob-new-secret', email: 'b@x' } });
    assert.equal(changed.status, 200);
    assert.equal(((await changed.json()) as UserRow).email, 'b@x');
    assert.equal(((await (await api('GET', '/api/v1/session', { cookie: bob.cookie })).json()) as SessionInfo).user, null, 'the session ended');
    assert.equal((await api('GET', '/api/v1/session', { basic: ['bob', 'bob-new-secret'] })).status, 200);
    const again = await signIn('bob', 'bob-new-secret');
    const disabled = (await (await api('PATCH', '/api/v1/users/bob', { ...as('root'), body: { disabled: true } })).json()) as UserRow;
    assert.equal(disabled.disabled, true);
    assert.equal(((await (await api('GET', '/api/v1/session', { cookie: again.cookie })).json()) as SessionInfo).user, null);
    await assertError(await api('GET', '/api/v1/session', { basic: ['bob', 'bob-new-secret'] }), 401, 'UNAUTHORIZED');
    assert.equal((await fetch(`${hub.wharf.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from('bob:bob-new-secret').toString('base64')}` } })).status, 401, 'v2 refuses too');
    await api('PATCH', '/api/v1/users/bob', { ...as('root'), body: { disabled: false } });
    assert.equal((await api('GET', '/api/v1/session', { basic: ['bob', 'bob-new-secret'] })).status, 200);
    await assertError(await api('PATCH', '/api/v1/users/root', { ...as('root'), body: { disabled: true } }), 409, 'CONFLICT');
    await assertError(await api('PATCH', '/api/v1/users/root', { ...as('root'), body: { admin: false } }), 409, 'CONFLICT');
    await assertError(await api('PATCH', '/api/v1/users/ghost', { ...as('root'), body: { email: 'x' } }), 404, 'NOT_FOUND');
    await assertError(await api('PATCH', '/api/v1/users/bob', { ...as('root'), body: {} }), 400, 'INVALID', /nothing to change/);
    await assertError(await api('PATCH', '/api/v1/users/bob', { ...as('root'), body: { password: 'abc' } }), 400, 'INVALID', /^password:/);
  });

  test('an admin session writes with the CSRF token only', async () => {
    const root = await signIn('root');
    const body = { name: 'erin', password: 'erin-secret' };
    await assertError(await api('POST', '/api/v1/users', { cookie: root.cookie, body }), 403, 'DENIED');
    assert.equal((await api('POST', '/api/v1/users', { cookie: root.cookie, csrf: root.csrf, body })).status, 201);
    const alice = await signIn('alice');
    await assertError(await api('POST', '/api/v1/users', { cookie: alice.cookie, csrf: alice.csrf, body: { ...body, name: 'frank' } }), 403, 'DENIED');
  });

  test('tokens: 401/403 for non-admins; created (secret once), listed per user, used, revoked', async () => {
    await assertError(await api('GET', '/api/v1/tokens', anonymous), 401, 'UNAUTHORIZED');
    await assertError(await api('GET', '/api/v1/tokens', as('alice')), 403, 'DENIED');
    await assertError(await api('POST', '/api/v1/tokens', { ...as('alice'), body: { user: 'alice', scopes: [], description: '' } }), 403, 'DENIED');
    await assertError(await api('POST', '/api/v1/tokens', { ...anonymous, body: { user: 'alice' } }), 401, 'UNAUTHORIZED');
    await assertError(await api('DELETE', '/api/v1/tokens/0123456789abcdef', anonymous), 401, 'UNAUTHORIZED');
    await assertError(await api('DELETE', '/api/v1/tokens/0123456789abcdef', as('root')), 404, 'NOT_FOUND');
    const created = await api('POST', '/api/v1/tokens', { ...as('root'), body: { user: 'bob', scopes: ['repository:bob/*:pull,push repository:team/app:pull'], description: 'ci' } });
    assert.equal(created.status, 201);
    const token = (await created.json()) as CreatedToken;
    assert.match(token.secret, new RegExp(`^wharf_${token.id}_`));
    assert.deepEqual({ ...token, secret: '', createdAt: '' }, { id: token.id, user: 'bob', scopes: ['repository:bob/*:pull,push', 'repository:team/app:pull'], description: 'ci', createdAt: '', revokedAt: null, secret: '' });
    const listed = (await (await api('GET', '/api/v1/tokens?user=bob', as('root'))).json()) as { tokens: TokenRow[] };
    assert.deepEqual(listed.tokens.map((t) => t.id), [token.id]);
    assert.equal(JSON.stringify(listed).includes(token.secret), false, 'the secret is shown once');
    const v2 = () => fetch(`${hub.wharf.url}/v2/`, { headers: { authorization: `Basic ${Buffer.from(`bob:${token.secret}`).toString('base64')}` } });
    assert.equal((await v2()).status, 200);
    assert.equal((await api('DELETE', `/api/v1/tokens/${token.id}`, as('alice'))).status, 403);
    assert.equal((await api('DELETE', `/api/v1/tokens/${token.id}`, as('root'))).status, 204);
    assert.equal((await v2()).status, 401, 'revoked at once');
    await assertError(await api('DELETE', `/api/v1/tokens/${token.id}`, as('root')), 404, 'NOT_FOUND');
    const after = (await (await api('GET', '/api/v1/tokens?user=bob', as('root'))).json()) as { tokens: TokenRow[] };
    assert.notEqual(after.tokens[0].revokedAt, null);
  });

  test('a robot token is no admin, even an admin\'s: GET /session says so and it administers nothing', async () => {
    const token = (await (await api('POST', '/api/v1/tokens', { ...as('root'), body: { user: 'root' } })).json()) as CreatedToken;
    const robot: Call = { basic: ['root', token.secret] };
    const info = (await (await api('GET', '/api/v1/session', robot)).json()) as SessionInfo;
    assert.deepEqual(info.user, { name: 'root', admin: false });
    await assertError(await api('PATCH', '/api/v1/users/bob', { ...robot, body: { password: 'taken-over' } }), 403, 'DENIED');
    await assertError(await api('POST', '/api/v1/tokens', { ...robot, body: { user: 'bob' } }), 403, 'DENIED');
  });

  test('tokens: bad input is a 400 naming the field; an unknown user is a 404', async () => {
    const root = as('root');
    await assertError(await api('POST', '/api/v1/tokens', { ...root, body: { user: 'bob', scopes: ['repository:bob/app:fly'], description: '' } }), 400, 'INVALID', /^scopes:/);
    await assertError(await api('POST', '/api/v1/tokens', { ...root, body: { user: 'bob', scopes: 'repository:bob/app:pull' } }), 400, 'INVALID', /^scopes:/);
    await assertError(await api('POST', '/api/v1/tokens', { ...root, body: { scopes: [] } }), 400, 'INVALID', /^user:/);
    await assertError(await api('POST', '/api/v1/tokens', { ...root, body: { user: 'ghost', scopes: [], description: '' } }), 404, 'NOT_FOUND');
    await assertError(await api('GET', '/api/v1/tokens?owner=bob', root), 400, 'INVALID');
    const all = (await (await api('POST', '/api/v1/tokens', { ...root, body: { user: 'alice' } })).json()) as CreatedToken;
    assert.deepEqual(all.scopes, ['repository:**:pull,push,delete', 'registry:catalog:*'], 'no scopes: all the user may do, as the CLI');
  });
});

describe('hub API: sign-in rate limiting', () => {
  let hub: { wharf: TestWharf; close(): Promise<void> };
  before(async () => {
    hub = await startAccountsWharf({ failures: 2, windowSeconds: 60 });
  });
  after(() => hub.close());

  test('failed sign-ins beyond auth.rateLimit answer 429 with Retry-After, even with the right password', async () => {
    const api = client(hub.wharf);
    for (let i = 0; i < 2; i++) await assertError(await api('POST', '/api/v1/session', { body: { username: 'alice', password: 'wrong' } }), 401, 'UNAUTHORIZED');
    const limited = await api('POST', '/api/v1/session', { body: { username: 'alice', password: passwords.alice } });
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) > 0);
    assert.equal(((await limited.json()) as ApiErrorBody).errors[0].code, 'TOOMANYREQUESTS');
    assert.equal(limited.headers.get('set-cookie'), null);
  });
});

describe('hub API: anonymous browsing and auth mode none', () => {
  test('auth.anonymousPull lets anonymous callers browse, not administer', async () => {
    const hub = await startAccountsWharf(undefined, { mode: 'htpasswd', anonymousPull: true });
    try {
      const api = client(hub.wharf);
      const info = (await (await api('GET', '/api/v1/session')).json()) as SessionInfo;
      assert.equal(info.anonymousBrowse, true);
      await assertError(await api('GET', '/api/v1/users'), 401, 'UNAUTHORIZED');
    } finally {
      await hub.close();
    }
  });

  test('auth mode none: every caller administers, as the v2 API lets anyone do anything, but writes no accounts', async () => {
    const hub = await startAccountsWharf(undefined, { mode: 'none' });
    try {
      const api = client(hub.wharf);
      const info = (await (await api('GET', '/api/v1/session')).json()) as SessionInfo;
      assert.deepEqual(info, { user: null, csrfToken: null, authMode: 'none', anonymousBrowse: true });
      assert.equal((await api('GET', '/api/v1/users')).status, 200);
      assert.equal((await api('GET', '/api/v1/tokens')).status, 200);
      // Accounts made now would take effect unseen the day the mode changes.
      const none = /^auth mode none has no accounts: /;
      await assertError(await api('POST', '/api/v1/users', { body: { name: 'mallory', password: 'mallory-secret', admin: true } }), 409, 'CONFLICT', none);
      await assertError(await api('PATCH', '/api/v1/users/alice', { body: { password: 'taken-over' } }), 409, 'CONFLICT', none);
      await assertError(await api('POST', '/api/v1/tokens', { body: { user: 'alice' } }), 409, 'CONFLICT', none);
      await assertError(await api('DELETE', '/api/v1/tokens/0123456789abcdef'), 409, 'CONFLICT', none);
      assert.deepEqual(((await (await api('GET', '/api/v1/users')).json()) as { users: UserRow[] }).users.map((u) => u.name), ['alice', 'bob', 'root']);
      // Anyone administers here, so another site's page must not: the Origin check holds for anonymous callers.
      await assertError(await api('POST', '/api/v1/gc/runs', { body: { dryRun: true }, origin: 'http://evil.example' }), 403, 'DENIED', /origin/);
    } finally {
      await hub.close();
    }
  });
});

describe('hub API: names the htpasswd file holds', () => {
  test('PATCH /users/:name refuses a name the file holds (its entry wins: the change would do nothing)', async () => {
    const line = execFileSync('htpasswd', ['-nbB', 'bob', 'bob-file-secret']).toString();
    const hub = await startAccountsWharf(undefined, undefined, { htpasswd: line });
    try {
      const api = client(hub.wharf);
      for (const body of [{ disabled: true }, { password: 'bob-new-secret' }, { admin: true }]) {
        await assertError(await api('PATCH', '/api/v1/users/bob', { ...as('root'), body }), 409, 'CONFLICT', /^bob is managed by the htpasswd file \(auth\.htpasswd\): change it there$/);
      }
      assert.equal((await api('GET', '/api/v1/session', { basic: ['bob', 'bob-file-secret'] })).status, 200, 'the file\'s password still signs in');
      assert.equal((await api('PATCH', '/api/v1/users/alice', { ...as('root'), body: { email: 'a@x' } })).status, 200, 'store names still change');
    } finally {
      await hub.close();
    }
  });
});

describe('hub API: behind a TLS-terminating proxy (registry.publicUrl https)', () => {
  test('the session cookie is Secure and named __Host-wharf_session; a plain wharf_session (tossed by another host) is ignored', async () => {
    const hub = await startAccountsWharf(undefined, undefined, { publicUrl: 'https://registry.example.com' });
    try {
      const api = client(hub.wharf);
      const signIn = await api('POST', '/api/v1/session', { body: { username: 'alice', password: passwords.alice } });
      assert.equal(signIn.status, 200);
      const setCookie = signIn.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /^__Host-wharf_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=43200; Secure$/);
      const value = setCookie.split(';')[0].split('=')[1];
      const csrf = ((await signIn.json()) as SessionInfo).csrfToken ?? '';
      const me = async (cookie: string) => ((await (await api('GET', '/api/v1/session', { cookie })).json()) as SessionInfo).user;
      assert.deepEqual(await me(`__Host-wharf_session=${value}`), { name: 'alice', admin: false });
      assert.equal(await me(`wharf_session=${value}`), null);
      const out = await api('DELETE', '/api/v1/session', { cookie: `__Host-wharf_session=${value}`, csrf, origin: 'https://registry.example.com' });
      assert.equal(out.status, 204);
      assert.match(out.headers.get('set-cookie') ?? '', /^__Host-wharf_session=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/);
      assert.equal(await me(`__Host-wharf_session=${value}`), null);
    } finally {
      await hub.close();
    }
  });
});
