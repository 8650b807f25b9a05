import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportJWK, exportSPKI, SignJWT } from 'jose';
import type { AuthFixture } from './auth-fixture.ts';
import { createAuthFixture } from './auth-fixture.ts';
import type { Access, AuthDecision, AuthRequest } from './authorizer.ts';
import type { TokenAuthorizer } from './token-authorizer.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const bearer = (token: string): AuthRequest => ({ authorization: `Bearer ${token}`, ip: '127.0.0.1', protocol: 'v2', host: '127.0.0.1:5000' });
const repo = (name: string, ...actions: string[]): Access => ({ type: 'repository', name, actions });

function denial(decision: AuthDecision) {
  assert.equal(decision.allowed, false);
  return decision as Extract<AuthDecision, { allowed: false }>;
}

describe('token mode: what the registry accepts', () => {
  let f: AuthFixture;
  let kid: string;
  let key: ReturnType<typeof createPrivateKey>;
  const realm = 'http://127.0.0.1:5000/auth/token';

  before(async () => {
    f = await createAuthFixture({ auth: { mode: 'token' } });
    await f.addUser('alice', 'alice-pw');
    await f.addUser('root', 'root-pw', { admin: true });
    key = createPrivateKey(readFileSync(join(f.config.root, 'auth', 'token-key.pem'), 'utf8'));
    kid = (f.auth.tokens?.jwks as { keys: { kid: string }[] }).keys[0].kid;
  });
  after(() => f.close());

  const authorize = (request: AuthRequest, needs: Access[]) => f.auth.authorizer.authorize(request, needs);
  const issue = async (access: Access[], account = 'alice') => (await f.auth.tokens!.issue({ account, admin: false }, access)).token;
  const now = () => Math.floor(f.now() / 1000);
  const sign = (claims: Record<string, unknown>, header: Record<string, unknown> = {}) =>
    new SignJWT({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), exp: now() + 60, access: [repo('alice/app', 'pull')], ...claims })
      .setProtectedHeader({ alg: 'ES256', kid, ...header })
      .sign(key);

  test('without a token: 401 with the Bearer challenge naming realm, service and scope, and the access in detail', async () => {
    const d = denial(await authorize({ ip: '127.0.0.1', protocol: 'v2', host: '127.0.0.1:5000' }, [repo('alice/app', 'pull', 'push')]));
    assert.equal(d.status, 401);
    assert.equal(d.code, 'UNAUTHORIZED');
    assert.equal(d.challenge, `Bearer realm="${realm}",service="wharf-registry",scope="repository:alice/app:pull,push"`);
    assert.deepEqual(d.detail, [{ Type: 'repository', Name: 'alice/app', Action: 'pull' }, { Type: 'repository', Name: 'alice/app', Action: 'push' }]);
    const base = denial(await authorize({ ip: '127.0.0.1', protocol: 'v2', host: '127.0.0.1:5000' }, []));
    assert.equal(base.challenge, `Bearer realm="${realm}",service="wharf-registry"`);
  });

  test('a token covering the access is accepted, with the identity re-read (admin flag)', async () => {
    assert.deepEqual(await authorize(bearer(await issue([repo('alice/app', 'pull', 'push')])), [repo('alice/app', 'pull', 'push')]), {
      allowed: true, identity: { account: 'alice', admin: false }, granted: [repo('alice/app', 'pull', 'push')],
    });
    const rootToken = await issue([repo('x/y', 'pull')], 'root');
    assert.deepEqual(await authorize(bearer(rootToken), []), {
      allowed: true, identity: { account: 'root', admin: true }, granted: [repo('x/y', 'pull')],
    });
  });

  test('a token for repository A does not open B, and a pull-only token cannot push: insufficient_scope', async () => {
    const onB = denial(await authorize(bearer(await issue([repo('alice/a', 'pull', 'push')])), [repo('alice/b', 'pull')]));
    assert.equal(onB.status, 401);
    assert.equal(onB.challenge, `Bearer realm="${realm}",service="wharf-registry",scope="repository:alice/b:pull",error="insufficient_scope"`);
    const pushing = denial(await authorize(bearer(await issue([repo('alice/app', 'pull')])), [repo('alice/app', 'pull', 'push')]));
    assert.match(pushing.challenge ?? '', /scope="repository:alice\/app:pull,push",error="insufficient_scope"$/);
  });

  test('an expired token is refused after the 30 s leeway, a not-yet-valid one before it', async () => {
    const token = await issue([repo('alice/app', 'pull')]);
    f.advance(300_000 + 20_000);
    assert.equal((await authorize(bearer(token), [repo('alice/app', 'pull')])).allowed, true, 'within the leeway');
    f.advance(15_000);
    const expired = denial(await authorize(bearer(token), [repo('alice/app', 'pull')]));
    assert.match(expired.challenge ?? '', /error="invalid_token"/);
    assert.equal(expired.message, 'token expired');
    const future = await sign({ nbf: now() + 120, iat: now() + 120, exp: now() + 300 });
    assert.equal((await authorize(bearer(future), [repo('alice/app', 'pull')])).allowed, false);
  });

  const forged: [string, () => Promise<string>][] = [
    ['a tampered payload', async () => {
      const [h, , s] = (await issue([repo('alice/app', 'pull')])).split('.');
      return `${h}.${b64({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), exp: now() + 60, access: [repo('alice/app', 'pull', 'push')] })}.${s}`;
    }],
    ['a tampered signature', async () => {
      const token = await issue([repo('alice/app', 'pull', 'push')]);
      return `${token.slice(0, -6)}${token.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'}`;
    }],
    ['alg none', async () => `${b64({ alg: 'none', kid })}.${b64({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), exp: now() + 60, access: [repo('alice/app', 'pull', 'push')] })}.`],
    ['HS256 signed with the public key', async () => {
      const head = b64({ alg: 'HS256', typ: 'JWT', kid });
      const body = b64({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), exp: now() + 60, access: [repo('alice/app', 'pull', 'push')] });
      const pem = await exportSPKI(createPublicKey(key));
      return `${head}.${body}.${createHmac('sha256', pem).update(`${head}.${body}`).digest('base64url')}`;
    }],
    ['a wrong issuer', () => sign({ iss: 'evil' })],
    ['a wrong audience', () => sign({ aud: 'other-registry' })],
    ['a foreign key with our kid', () =>
      new SignJWT({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), exp: now() + 60, access: [repo('alice/app', 'pull', 'push')] })
        .setProtectedHeader({ alg: 'ES256', kid })
        .sign(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey)],
    ['our key with another kid', () => sign({}, { kid: 'other' })],
    ['a refresh token', () => f.auth.tokens!.issueRefresh({ account: 'alice', credential: 'x' })],
    ['no exp claim', () => new SignJWT({ iss: 'wharf', aud: 'wharf-registry', sub: 'alice', iat: now(), access: [repo('alice/app', 'pull', 'push')] }).setProtectedHeader({ alg: 'ES256', kid }).sign(key)],
    ['not a JWT', async () => 'not.a.jwt'],
  ];
  for (const [sentence, make] of forged) {
    test(`${sentence} is refused with 401 invalid_token`, async () => {
      const d = denial(await authorize(bearer(await make()), [repo('alice/app', 'pull')]));
      assert.equal(d.status, 401);
      assert.equal(d.code, 'UNAUTHORIZED');
      assert.match(d.challenge ?? '', /^Bearer realm=.*,error="invalid_token"$/);
    });
  }

  test('Basic credentials and malformed headers in token mode get the Bearer challenge', async () => {
    for (const authorization of [`Basic ${Buffer.from('alice:alice-pw').toString('base64')}`, 'Bearer', 'Digest x', '\u0001', `Bearer ${'x'.repeat(20_000)}`]) {
      const d = denial(await authorize({ authorization, ip: '1.1.1.1', protocol: 'v2' }, [repo('alice/app', 'pull')]));
      assert.equal(d.status, 401);
      assert.match(d.challenge ?? '', /^Bearer realm="http:\/\/127\.0\.0\.1:5000\/auth\/token"/);
    }
  });

  test('a revoked robot token voids the access tokens issued to it at once', async () => {
    const robot = await f.addRobot('alice', ['repository:alice/*:pull']);
    const token = (await f.auth.tokens!.issue({ account: 'alice', admin: false, tokenId: robot.id }, [repo('alice/app', 'pull')])).token;
    const ok = await authorize(bearer(token), [repo('alice/app', 'pull')]);
    assert.equal(ok.allowed, true);
    assert.deepEqual(ok.allowed && ok.identity.scopes, [repo('alice/*', 'pull')]);
    await f.users.revokeToken(robot.id, 'now');
    assert.equal(denial(await authorize(bearer(token), [repo('alice/app', 'pull')])).message, 'token revoked');
  });

  test('disabling the user voids the access tokens already issued to it, password and robot alike', async () => {
    await f.addUser('carol', 'carol-pw');
    const robot = await f.addRobot('carol', ['repository:carol/*:pull']);
    const byPassword = await issue([repo('carol/app', 'pull')], 'carol');
    const byRobot = (await f.auth.tokens!.issue({ account: 'carol', admin: false, tokenId: robot.id }, [repo('carol/app', 'pull')])).token;
    assert.equal((await authorize(bearer(byPassword), [repo('carol/app', 'pull')])).allowed, true);
    await f.users.updateUser('carol', { disabled: true });
    assert.equal(denial(await authorize(bearer(byPassword), [repo('carol/app', 'pull')])).message, 'token revoked');
    assert.equal(denial(await authorize(bearer(byRobot), [repo('carol/app', 'pull')])).message, 'token revoked');
    await f.users.updateUser('carol', { disabled: false });
    assert.equal((await authorize(bearer(byPassword), [repo('carol/app', 'pull')])).allowed, true);
  });

  test('a deleted user\'s access tokens stop working at once, like a disabled one\'s', async () => {
    await f.addUser('dave', 'dave-pw');
    const token = await issue([repo('dave/app', 'pull')], 'dave');
    assert.equal((await authorize(bearer(token), [repo('dave/app', 'pull')])).allowed, true);
    await f.users.deleteUser('dave');
    assert.equal(denial(await authorize(bearer(token), [repo('dave/app', 'pull')])).message, 'token revoked');
    const ghost = await issue([repo('ghost/app', 'pull')], 'ghost');
    assert.equal(denial(await authorize(bearer(ghost), [repo('ghost/app', 'pull')])).message, 'token revoked', 'nor one for a name never on record');
  });

  test('the challenge realm follows config, publicUrl and a sane Host header', async () => {
    const authorizer = f.auth.authorizer as TokenAuthorizer;
    assert.equal(authorizer.challenge({ host: 'registry.example:443', secure: true }, []), 'Bearer realm="https://registry.example:443/auth/token",service="wharf-registry"');
    assert.equal(authorizer.challenge({ host: 'evil",x="y' }, []), 'Bearer realm="http://127.0.0.1:5000/auth/token",service="wharf-registry"');
    assert.equal(authorizer.challenge({ host: '[::1]:5000' }, []), 'Bearer realm="http://[::1]:5000/auth/token",service="wharf-registry"');
  });
});

describe('token mode: an outside issuer\'s subject is not a local account', () => {
  let f: AuthFixture;
  let dir: string;
  const outside = generateKeyPairSync('ec', { namedCurve: 'P-256' });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-ext-'));
    const jwks = join(dir, 'jwks.json');
    writeFileSync(jwks, JSON.stringify({ keys: [{ ...(await exportJWK(outside.publicKey)), kid: 'outside-1', use: 'sig' }] }));
    f = await createAuthFixture({ auth: { mode: 'token', token: { jwks } } });
    await f.addUser('root', 'root-pw', { admin: true });
  });
  after(() => {
    f.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a token whose sub names a local admin gets no admin flag, and no robot token from wharf_rid', async () => {
    const now = Math.floor(f.now() / 1000);
    const token = await new SignJWT({ access: [{ type: 'registry', name: 'catalog', actions: ['*'] }], wharf_rid: 'r1' })
      .setProtectedHeader({ alg: 'ES256', kid: 'outside-1' })
      .setIssuer('wharf')
      .setAudience('wharf-registry')
      .setSubject('root')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(outside.privateKey);
    const decision = await f.auth.authorizer.authorize(bearer(token), [{ type: 'registry', name: 'catalog', actions: ['*'] }]);
    assert.ok(decision.allowed);
    assert.deepEqual(decision.identity, { account: 'root', admin: false });
    // A subject that is no local account at all is the outside issuer's business: still accepted.
    const outsider = await new SignJWT({ access: [repo('team/app', 'pull')] })
      .setProtectedHeader({ alg: 'ES256', kid: 'outside-1' })
      .setIssuer('wharf')
      .setAudience('wharf-registry')
      .setSubject('outsider')
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(outside.privateKey);
    const outsiderDecision = await f.auth.authorizer.authorize(bearer(outsider), [repo('team/app', 'pull')]);
    assert.ok(outsiderDecision.allowed);
    assert.deepEqual(outsiderDecision.identity, { account: 'outsider', admin: false });
    // wharf's own token for the same account still carries the flag.
    const own = (await f.auth.tokens!.issue({ account: 'root', admin: true }, [repo('x/y', 'pull')])).token;
    const ownDecision = await f.auth.authorizer.authorize(bearer(own), [repo('x/y', 'pull')]);
    assert.ok(ownDecision.allowed);
    assert.equal(ownDecision.identity.admin, true);
  });
});
