import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { SignJWT } from 'jose';
import { createHash, createPrivateKey } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runOk } from '../support/run.ts';
import { startTestWharf, type TestWharf, wharfBin } from '../support/wharf.ts';

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

// The negative cases of issue 3, each asserting the exact status and code, against an in-process wharf in token mode.
describe('token auth on the wire', () => {
  let wharf: TestWharf;
  const limit = 5;

  before(async () => {
    wharf = await startTestWharf({ config: { auth: { mode: 'token', rateLimit: { failures: limit, windowSeconds: 60 } } } });
    await runOk(wharfBin, ['user', 'add', 'alice', '--password-stdin', '--root', wharf.root], { input: 'alice-pw\n' });
    await runOk(wharfBin, ['user', 'add', 'mallory', '--password-stdin', '--root', wharf.root], { input: 'mallory-pw\n' });
  });
  after(() => wharf.close());

  async function token(scope: string, auth = basic('alice', 'alice-pw')): Promise<string> {
    const res = await fetch(`${wharf.url}/auth/token?service=wharf-registry&scope=${encodeURIComponent(scope)}`, { headers: { authorization: auth } });
    assert.equal(res.status, 200);
    return ((await res.json()) as { token: string }).token;
  }

  const v2 = (path: string, init: RequestInit & { token?: string } = {}) =>
    fetch(`${wharf.url}${path}`, { ...init, headers: { ...(init.token ? { authorization: `Bearer ${init.token}` } : {}), ...(init.headers as object) } });

  async function expectError(res: Response, status: number, code: string): Promise<Record<string, unknown>> {
    assert.equal(res.status, status);
    const body = (await res.json()) as { errors: { code: string; detail: unknown }[] };
    assert.equal(body.errors[0].code, code);
    return body.errors[0] as Record<string, unknown>;
  }

  test('no token: 401 with a Bearer challenge naming the scope, and the access in detail', async () => {
    const res = await v2('/v2/alice/app/tags/list');
    assert.match(res.headers.get('www-authenticate') ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:\d+\/auth\/token",service="wharf-registry",scope="repository:alice\/app:pull"$/);
    const error = await expectError(res, 401, 'UNAUTHORIZED');
    assert.deepEqual(error.detail, [{ Type: 'repository', Name: 'alice/app', Action: 'pull' }]);
  });

  test('a wrong password gets no token', async () => {
    const res = await fetch(`${wharf.url}/auth/token?service=wharf-registry&scope=repository:alice/app:pull`, { headers: { authorization: basic('alice', 'nope') } });
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('a token for repository A does not open repository B', async () => {
    const t = await token('repository:alice/a:pull,push');
    const res = await v2('/v2/alice/b/tags/list', { token: t });
    assert.match(res.headers.get('www-authenticate') ?? '', /error="insufficient_scope"/);
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('a pull-only token cannot push', async () => {
    const t = await token('repository:alice/app:pull');
    const res = await v2('/v2/alice/app/blobs/uploads/', { method: 'POST', token: t });
    assert.match(res.headers.get('www-authenticate') ?? '', /scope="repository:alice\/app:pull,push",error="insufficient_scope"/);
    await expectError(res, 401, 'UNAUTHORIZED');
  });

  test('the token server grants only what the ACL allows: push outside one\'s namespace is dropped', async () => {
    const t = await token('repository:mallory/app:pull,push');
    const payload = JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
    assert.deepEqual(payload.access, [{ type: 'repository', name: 'mallory/app', actions: ['pull'] }]);
  });

  test('anonymous callers get an empty token and cannot push', async () => {
    const res = await fetch(`${wharf.url}/auth/token?service=wharf-registry&scope=repository:alice/app:push`);
    const t = ((await res.json()) as { token: string }).token;
    assert.deepEqual(JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()).access, []);
    await expectError(await v2('/v2/alice/app/blobs/uploads/', { method: 'POST', token: t }), 401, 'UNAUTHORIZED');
  });

  test('an expired token and a token signed with alg none are refused', async () => {
    const key = createPrivateKey(readFileSync(join(wharf.root, 'auth', 'token-key.pem'), 'utf8'));
    const kid = JSON.parse(Buffer.from((await token('repository:alice/app:pull')).split('.')[0], 'base64url').toString()).kid;
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await new SignJWT({ access: [{ type: 'repository', name: 'alice/app', actions: ['pull'] }] })
      .setProtectedHeader({ alg: 'ES256', kid })
      .setIssuer('wharf')
      .setAudience('wharf-registry')
      .setSubject('alice')
      .setIssuedAt(past - 300)
      .setExpirationTime(past)
      .sign(key);
    const res = await v2('/v2/alice/app/tags/list', { token: expired });
    assert.match(res.headers.get('www-authenticate') ?? '', /error="invalid_token"/);
    await expectError(res, 401, 'UNAUTHORIZED');
    const none = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from(JSON.stringify({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', exp: past + 7200, access: [{ type: 'repository', name: 'alice/app', actions: ['pull'] }] })).toString('base64url')}.`;
    await expectError(await v2('/v2/alice/app/tags/list', { token: none }), 401, 'UNAUTHORIZED');
  });

  test('a name that tries path traversal is refused before authorization', async () => {
    // fetch would normalise the dots away; node:http sends the path as written.
    const status = await new Promise<number>((resolve, reject) => {
      const { hostname, port } = new URL(wharf.url);
      request({ host: hostname, port, path: '/v2/alice/../app/tags/list' }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      })
        .on('error', reject)
        .end();
    });
    assert.equal(status, 400);
  });

  test('malformed headers, unknown grant types and bad scopes get clear errors, never a 500', async () => {
    await expectError(await v2('/v2/alice/app/tags/list', { headers: { authorization: 'Bearer not.a.jwt' } }), 401, 'UNAUTHORIZED');
    await expectError(await v2('/v2/alice/app/tags/list', { headers: { authorization: 'Basic %%%' } }), 401, 'UNAUTHORIZED');
    const grant = await fetch(`${wharf.url}/auth/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'client_credentials' }) });
    assert.equal(grant.status, 400);
    assert.equal(((await grant.json()) as { error: string }).error, 'unsupported_grant_type');
    const scope = await fetch(`${wharf.url}/auth/token?scope=repository:x:FLY!`);
    assert.equal(scope.status, 400);
    const huge = await fetch(`${wharf.url}/v2/`, { headers: { authorization: `Bearer ${'x'.repeat(20_000)}` } }).catch(() => undefined);
    assert.ok(!huge || huge.status === 431 || huge.status === 401, `status ${huge?.status}`);
  });

  test('OAuth2 password and refresh_token grants, as dockerd uses them', async () => {
    const res = await fetch(`${wharf.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'password', username: 'alice', password: 'alice-pw', service: 'wharf-registry', scope: 'repository:alice/app:pull', access_type: 'offline', client_id: 'docker' }),
    });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { access_token: string; refresh_token: string };
    assert.ok(body.access_token && body.refresh_token);
    const refreshed = await fetch(`${wharf.url}/auth/token`, {
      method: 'POST',
      body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: body.refresh_token, service: 'wharf-registry', scope: 'repository:alice/app:pull' }),
    });
    assert.equal(refreshed.status, 200);
    const ok = await v2('/v2/alice/app/tags/list', { token: ((await refreshed.json()) as { access_token: string }).access_token });
    await expectError(ok, 404, 'NAME_UNKNOWN');
  });

  test('robot tokens act as passwords within their scopes and stop working once revoked', async () => {
    const secret = (await runOk(wharfBin, ['token', 'create', '--user', 'alice', '--scope', 'repository:alice/app:pull', '--root', wharf.root])).trim();
    const t = await token('repository:alice/app:pull,push', basic('alice', secret));
    assert.deepEqual(JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString()).access, [{ type: 'repository', name: 'alice/app', actions: ['pull'] }]);
    const id = secret.split('_')[1];
    await runOk(wharfBin, ['token', 'revoke', id, '--root', wharf.root]);
    const denied = await fetch(`${wharf.url}/auth/token?scope=repository:alice/app:pull`, { headers: { authorization: basic('alice', `${secret}x`) } });
    assert.equal(denied.status, 401);
  });

  test('repeated failed logins are rate limited with 429 and Retry-After', async () => {
    let last: Response | undefined;
    for (let i = 0; i <= limit; i++) {
      last = await fetch(`${wharf.url}/auth/token?scope=repository:mallory/app:pull`, { headers: { authorization: basic('mallory', `wrong-${i}`) } });
    }
    assert.equal(last?.status, 429);
    assert.ok(Number(last?.headers.get('retry-after')) > 0);
    const right = await fetch(`${wharf.url}/auth/token?scope=repository:mallory/app:pull`, { headers: { authorization: basic('mallory', 'mallory-pw') } });
    assert.equal(right.status, 429, 'even the right password waits out the window');
  });
});

describe('the token server run alone', () => {
  test('a registry on the same root trusts tokens from `wharf auth serve` and names it as realm', async () => {
    const tokenServer = await startTestWharf({ parts: ['token'], config: { auth: { token: { addr: '127.0.0.1:0' } } } });
    const realm = `${tokenServer.url}/auth/token`;
    try {
      await runOk(wharfBin, ['user', 'add', 'carol', '--password-stdin', '--root', tokenServer.root], { input: 'carol-pw\n' });
      const registry = await startTestWharf({ root: tokenServer.root, config: { auth: { mode: 'token', token: { realm } } } });
      try {
        const challenge = (await fetch(`${registry.url}/v2/`)).headers.get('www-authenticate');
        assert.equal(challenge, `Bearer realm="${realm}",service="wharf-registry"`);
        const res = await fetch(`${realm}?service=wharf-registry&scope=repository:carol/app:pull`, { headers: { authorization: basic('carol', 'carol-pw') } });
        const { token } = (await res.json()) as { token: string };
        const tags = await fetch(`${registry.url}/v2/carol/app/tags/list`, { headers: { authorization: `Bearer ${token}` } });
        assert.equal(tags.status, 404, 'authorized: the repository just does not exist');
      } finally {
        await registry.close();
      }
    } finally {
      await tokenServer.close();
    }
  });
});

describe('htpasswd auth and the catalog', () => {
  test('the catalog lists only what the caller may pull', async () => {
    const wharf = await startTestWharf({
      config: { auth: { mode: 'htpasswd', acl: [{ match: { account: 'root' }, actions: ['*'] }, { match: { name: '${account}/*' }, actions: ['*'] }] } },
    });
    try {
      for (const [name, password] of [['root', 'root-pw'], ['dave', 'dave-pw'], ['erin', 'erin-pw']]) {
        await runOk(wharfBin, ['user', 'add', name, '--password-stdin', '--root', wharf.root], { input: `${password}\n` });
      }
      for (const [user, password] of [['dave', 'dave-pw'], ['erin', 'erin-pw']]) {
        const config = Buffer.from('{}');
        const digest = `sha256:${createHash('sha256').update(config).digest('hex')}`;
        const res = await fetch(`${wharf.url}/v2/${user}/app/blobs/uploads/?digest=${digest}`, { method: 'POST', body: config, headers: { authorization: basic(user, password) } });
        assert.equal(res.status, 201);
      }
      await runOk(wharfBin, ['user', 'add', 'frank', '--password-stdin', '--root', wharf.root], { input: 'frank-pw\n' });
      const catalog = async (auth: string) =>
        ((await (await fetch(`${wharf.url}/v2/_catalog`, { headers: { authorization: auth } })).json()) as { repositories: string[] }).repositories;
      assert.deepEqual(await catalog(basic('dave', 'dave-pw')), ['dave/app']);
      assert.deepEqual(await catalog(basic('frank', 'frank-pw')), []);
      const seen = await fetch(`${wharf.url}/v2/_catalog`, { headers: { authorization: basic('root', 'root-pw') } });
      assert.deepEqual(((await seen.json()) as { repositories: string[] }).repositories, ['dave/app', 'erin/app']);
      const digest = `sha256:${createHash('sha256').update('{}').digest('hex')}`;
      const mount = await fetch(`${wharf.url}/v2/dave/other/blobs/uploads/?mount=${digest}&from=erin/app`, { method: 'POST', headers: { authorization: basic('frank', 'frank-pw') } });
      assert.equal(mount.status, 403, 'frank may not push to dave/');
      const fallback = await fetch(`${wharf.url}/v2/frank/app/blobs/uploads/?mount=${digest}&from=erin/app`, { method: 'POST', headers: { authorization: basic('frank', 'frank-pw') } });
      assert.equal(fallback.status, 202, 'no pull on from: a plain upload, and nothing learned about erin/app');
      const allowed = await fetch(`${wharf.url}/v2/erin/copy/blobs/uploads/?mount=${digest}&from=erin/app`, { method: 'POST', headers: { authorization: basic('erin', 'erin-pw') } });
      assert.equal(allowed.status, 201);
      const denied = await fetch(`${wharf.url}/v2/erin/app/blobs/uploads/`, { method: 'POST', headers: { authorization: basic('dave', 'dave-pw') } });
      assert.equal(denied.status, 403);
      assert.equal(((await denied.json()) as { errors: { code: string }[] }).errors[0].code, 'DENIED');
    } finally {
      await wharf.close();
    }
  });
});
