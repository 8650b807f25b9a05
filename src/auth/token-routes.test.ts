import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import bcrypt from 'bcryptjs';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from 'jose';
import type { ConfigInput } from '../base/config.ts';
import { type AuthFixture, createAuthFixture } from './auth-fixture.ts';
import { registerTokenRoutes } from './token-routes.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
const form = (fields: Record<string, string>) => ({
  method: 'POST' as const,
  url: '/auth/token',
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

async function server(config: ConfigInput = {}): Promise<{ f: AuthFixture; app: FastifyInstance; close(): Promise<void> }> {
  const f = await createAuthFixture({ ...config, auth: { mode: 'token', rateLimit: { failures: 4, windowSeconds: 60 }, ...config.auth } });
  const app = Fastify();
  registerTokenRoutes(app, { tokens: f.auth.tokens!, accounts: f.auth.accounts, config: f.config, acl: f.auth.acl });
  await app.ready();
  return { f, app, close: async () => { await app.close(); f.close(); } };
}

describe('the token server', () => {
  let f: AuthFixture;
  let app: FastifyInstance;
  let close: () => Promise<void>;
  before(async () => {
    ({ f, app, close } = await server());
    await f.addUser('alice', 'alice-pw');
    await f.addUser('bob', 'bob-pw');
  });
  after(() => close());

  const get = (query: string, authorization?: string, ip = '127.0.0.1') =>
    app.inject({ method: 'GET', url: `/auth/token?${query}`, headers: authorization ? { authorization } : {}, remoteAddress: ip });
  const claims = (token: string) => decodeJwt(token) as Record<string, unknown>;

  test('GET with Basic answers a token with the Docker token claims, granting what the ACL allows of what was asked', async () => {
    const res = await get('service=wharf-registry&scope=repository:alice/app:pull,push&scope=repository:bob/app:pull,push&account=alice', basic('alice', 'alice-pw'));
    assert.equal(res.statusCode, 200);
    assert.equal(res.headers['cache-control'], 'no-store');
    const body = res.json();
    assert.equal(body.token, body.access_token);
    assert.equal(body.expires_in, 300);
    assert.equal(body.issued_at, new Date(f.now()).toISOString());
    assert.equal(body.refresh_token, undefined);
    const c = claims(body.token);
    assert.deepEqual(Object.keys(c).sort(), ['access', 'aud', 'exp', 'iat', 'iss', 'jti', 'nbf', 'sub']);
    assert.deepEqual([c.iss, c.sub, c.aud], ['wharf', 'alice', 'wharf-registry']);
    assert.equal(c.exp, Math.floor(f.now() / 1000) + 300);
    assert.deepEqual(c.access, [
      { type: 'repository', name: 'alice/app', actions: ['pull', 'push'] },
      { type: 'repository', name: 'bob/app', actions: ['pull'] },
    ]);
    assert.equal(decodeProtectedHeader(body.token).alg, 'ES256');
  });

  test('the JWKS publishes the verification key under the kid the tokens carry, and nothing private', async () => {
    const jwks = (await app.inject({ method: 'GET', url: '/auth/jwks' })).json() as JSONWebKeySet;
    assert.equal(jwks.keys.length, 1);
    assert.equal(jwks.keys[0].d, undefined);
    const token = (await get('scope=repository:alice/app:pull', basic('alice', 'alice-pw'))).json().token;
    assert.equal(decodeProtectedHeader(token).kid, jwks.keys[0].kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: 'wharf', audience: 'wharf-registry', currentDate: new Date(f.now()) });
    assert.equal(payload.sub, 'alice');
  });

  test('anonymous callers get a token holding nothing (no anonymousPull)', async () => {
    const res = await get('service=wharf-registry&scope=repository:alice/app:pull');
    assert.equal(res.statusCode, 200);
    assert.deepEqual([claims(res.json().token).sub, claims(res.json().token).access], ['', []]);
  });

  test('offline_token=true adds a refresh token for a signed-in caller only', async () => {
    assert.ok((await get('offline_token=true&scope=repository:alice/app:pull', basic('alice', 'alice-pw'))).json().refresh_token);
    assert.equal((await get('offline_token=true')).json().refresh_token, undefined);
  });

  test('an action the server does not know is not granted, never a 400 (dockerd\'s registry:catalog:search is)', async () => {
    const res = await get('service=wharf-registry&scope=repository:alice/app:pull,fly&scope=registry:catalog:search', basic('alice', 'alice-pw'));
    assert.equal(res.statusCode, 200);
    assert.deepEqual(claims(res.json().token).access, [
      { type: 'repository', name: 'alice/app', actions: ['pull'] },
      { type: 'registry', name: 'catalog', actions: ['search'] },
    ]);
    const refresh = (await app.inject(form({ grant_type: 'password', username: 'alice', password: 'alice-pw', access_type: 'offline' }))).json().refresh_token;
    const post = await app.inject(form({ grant_type: 'refresh_token', refresh_token: refresh, service: 'wharf-registry', scope: 'registry:catalog:search' }));
    assert.equal(post.statusCode, 200);
    assert.equal(post.json().scope, 'registry:catalog:search');
    assert.deepEqual(claims((await get('scope=registry:catalog:search')).json().token).access, [], 'anonymous: nothing without anonymousPull');
  });

  const badGets: [string, string, string | undefined, number, string][] = [
    ['a wrong password', 'scope=repository:alice/app:pull', basic('alice', 'nope'), 401, 'UNAUTHORIZED'],
    ['an unknown user', 'scope=repository:alice/app:pull', basic('mallory', 'x'), 401, 'UNAUTHORIZED'],
    ['a malformed Authorization header', 'scope=repository:alice/app:pull', 'Basic %%%', 401, 'UNAUTHORIZED'],
    ['a Bearer header', '', 'Bearer abc', 401, 'UNAUTHORIZED'],
    ['a scope that does not parse', 'scope=repository:alice/app:FLY!', basic('alice', 'alice-pw'), 400, 'invalid_scope'],
    ['a traversal in the scope', 'scope=repository:alice/../root:pull', basic('alice', 'alice-pw'), 400, 'invalid_scope'],
    ['an unknown service', 'service=other&scope=repository:alice/app:pull', basic('alice', 'alice-pw'), 400, 'invalid_request'],
    ['an account that is not the signed-in one', 'account=bob&scope=repository:bob/app:push', basic('alice', 'alice-pw'), 400, 'invalid_request'],
  ];
  for (const [sentence, query, authorization, status, code] of badGets) {
    test(`GET with ${sentence}: ${status} ${code}, no token`, async () => {
      const res = await get(query, authorization, '10.0.0.1');
      assert.equal(res.statusCode, status);
      const body = res.json();
      assert.equal(body.token, undefined);
      assert.equal(body.errors?.[0]?.code ?? body.error, code);
      if (status === 401) assert.equal(res.headers['www-authenticate'], 'Basic realm="wharf"');
    });
  }

  test('OAuth2 password grant, then refresh_token grant, as dockerd uses them', async () => {
    const res = await app.inject(form({ grant_type: 'password', username: 'alice', password: 'alice-pw', service: 'wharf-registry', scope: 'repository:alice/app:pull,push repository:bob/app:push', access_type: 'offline', client_id: 'docker' }));
    assert.equal(res.statusCode, 200);
    const body = res.json();
    assert.ok(body.access_token && body.refresh_token && body.expires_in && body.issued_at);
    assert.equal(body.scope, 'repository:alice/app:pull,push repository:bob/app:', 'the granted scope, push on bob/app dropped');
    const refreshed = await app.inject(form({ grant_type: 'refresh_token', refresh_token: body.refresh_token, service: 'wharf-registry', scope: 'repository:alice/app:pull', client_id: 'docker' }));
    assert.equal(refreshed.statusCode, 200);
    assert.deepEqual(claims(refreshed.json().access_token).access, [{ type: 'repository', name: 'alice/app', actions: ['pull'] }]);
    assert.equal(claims(refreshed.json().access_token).sub, 'alice');
  });

  test('repeated scope fields in the form are all read', async () => {
    const payload = 'grant_type=password&username=alice&password=alice-pw&scope=repository%3Aalice%2Fa%3Apull&scope=repository%3Aalice%2Fb%3Apull';
    const res = await app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload });
    assert.deepEqual((claims(res.json().access_token).access as { name: string }[]).map((a) => a.name), ['alice/a', 'alice/b']);
  });

  test('a refresh token dies with a password change or a deleted user', async () => {
    await f.addUser('carol', 'carol-pw');
    const refresh = (await app.inject(form({ grant_type: 'password', username: 'carol', password: 'carol-pw', access_type: 'offline' }))).json().refresh_token;
    assert.equal((await app.inject(form({ grant_type: 'refresh_token', refresh_token: refresh }))).statusCode, 200);
    await f.users.updateUser('carol', { passwordHash: await bcrypt.hash('carol-new', 4) });
    const stale = await app.inject(form({ grant_type: 'refresh_token', refresh_token: refresh }));
    assert.equal(stale.statusCode, 401);
    assert.equal(stale.json().error, 'invalid_grant');
    const fresh = (await app.inject(form({ grant_type: 'password', username: 'carol', password: 'carol-new', access_type: 'offline' }))).json().refresh_token;
    await f.users.deleteUser('carol');
    assert.equal((await app.inject(form({ grant_type: 'refresh_token', refresh_token: fresh }))).statusCode, 401);
  });

  test('a robot token keeps its cap through refresh and stops at revocation', async () => {
    const robot = await f.addRobot('alice', ['repository:alice/ci:pull']);
    const res = await app.inject(form({ grant_type: 'password', username: 'alice', password: robot.password, scope: 'repository:alice/ci:pull,push repository:alice/app:pull', access_type: 'offline' }));
    assert.equal(res.json().scope, 'repository:alice/ci:pull repository:alice/app:');
    const refresh = res.json().refresh_token;
    const again = await app.inject(form({ grant_type: 'refresh_token', refresh_token: refresh, scope: 'repository:alice/ci:pull,push' }));
    assert.deepEqual(claims(again.json().access_token).access, [{ type: 'repository', name: 'alice/ci', actions: ['pull'] }]);
    assert.equal(claims(again.json().access_token).wharf_rid, robot.id);
    await f.users.revokeToken(robot.id, 'now');
    assert.equal((await app.inject(form({ grant_type: 'refresh_token', refresh_token: refresh }))).statusCode, 401);
  });

  const badPosts: [string, Record<string, string>, number, string][] = [
    ['an unknown grant type', { grant_type: 'client_credentials' }, 400, 'unsupported_grant_type'],
    ['no grant type', { username: 'alice', password: 'alice-pw' }, 400, 'unsupported_grant_type'],
    ['a password grant without a username', { grant_type: 'password', password: 'x' }, 400, 'invalid_request'],
    ['a wrong password', { grant_type: 'password', username: 'bob', password: 'nope' }, 401, 'invalid_grant'],
    ['a garbage refresh token', { grant_type: 'refresh_token', refresh_token: 'garbage' }, 401, 'invalid_grant'],
    ['a missing refresh token', { grant_type: 'refresh_token' }, 401, 'invalid_grant'],
    ['a scope that does not parse', { grant_type: 'password', username: 'bob', password: 'bob-pw', scope: 'repository::pull' }, 400, 'invalid_scope'],
    ['an unknown service', { grant_type: 'password', username: 'bob', password: 'bob-pw', service: 'x' }, 400, 'invalid_request'],
  ];
  for (const [sentence, fields, status, error] of badPosts) {
    test(`POST with ${sentence}: ${status} ${error}`, async () => {
      const res = await app.inject({ ...form(fields), remoteAddress: '10.0.0.2' });
      assert.equal(res.statusCode, status);
      assert.equal(res.json().error, error);
      assert.equal(res.json().access_token, undefined);
    });
  }

  test('an access token is not a refresh token', async () => {
    const access = (await get('scope=repository:alice/app:pull', basic('alice', 'alice-pw'))).json().token;
    assert.equal((await app.inject(form({ grant_type: 'refresh_token', refresh_token: access }))).statusCode, 401);
  });

  test('bodies that are not forms get clear errors, never a 500', async () => {
    const res = await app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/octet-stream' }, payload: 'grant_type=password' });
    assert.equal(res.statusCode, 415);
    const json = await app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_type":"password"}' });
    assert.equal(json.statusCode, 400);
    const broken = await app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/json' }, payload: '{"grant_' });
    assert.equal(broken.statusCode, 400);
    const huge = await app.inject({ ...form({ grant_type: 'password', username: 'a', password: 'x'.repeat(100_000) }) });
    assert.equal(huge.statusCode, 413);
  });

  test('fields that are not strings are refused by the schema with invalid_request, naming the field, never a 500', async () => {
    const post = (payload: string) => app.inject({ method: 'POST', url: '/auth/token', headers: { 'content-type': 'application/json' }, payload });
    const numeric = await post('{"grant_type":5}');
    assert.equal(numeric.statusCode, 400);
    assert.deepEqual(numeric.json(), { error: 'invalid_request', error_description: 'malformed parameter "grant_type": expected a string' });
    const object = await post('{"grant_type":"password","username":{"$ne":""},"password":"p"}');
    assert.equal(object.statusCode, 400);
    assert.equal(object.json().error_description, 'malformed parameter "username": expected a string');
    // What is not a JSON object still reads as no fields: an unsupported grant_type, as before.
    const array = await post('[1,2]');
    assert.equal(array.statusCode, 400);
    assert.equal(array.json().error, 'unsupported_grant_type');
    // Unknown fields (client_id, docker's own) stay allowed in the query and the form.
    assert.equal((await get('service=wharf-registry&client_id=docker&scope=repository:alice/app:pull', 'Basic ' + Buffer.from('alice:alice-pw').toString('base64'))).statusCode, 200);
  });

  test('failed logins are rate limited per address: 429 TOOMANYREQUESTS with Retry-After, even for the right password', async () => {
    for (let i = 0; i < 4; i++) await get('', basic(`guess${i}`, 'x'), '10.9.9.9');
    const limited = await get('', basic('bob', 'bob-pw'), '10.9.9.9');
    assert.equal(limited.statusCode, 429);
    assert.equal(limited.json().errors[0].code, 'TOOMANYREQUESTS');
    assert.ok(Number(limited.headers['retry-after']) > 0);
    const posted = await app.inject({ ...form({ grant_type: 'password', username: 'bob', password: 'bob-pw' }), remoteAddress: '10.9.9.9' });
    assert.equal(posted.statusCode, 429);
    assert.equal((await get('', basic('bob', 'bob-pw'), '10.8.8.8')).statusCode, 200, 'another address is not held back');
  });
});

describe('the token server with anonymous pull', () => {
  test('anonymous callers get pull and nothing more', async () => {
    const { app, close } = await server({ auth: { anonymousPull: true } });
    try {
      const res = await app.inject({ method: 'GET', url: '/auth/token?scope=repository:team/app:pull,push,delete' });
      assert.deepEqual(decodeJwt(res.json().token).access, [{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    } finally {
      await close();
    }
  });
});
