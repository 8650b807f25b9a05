import assert from 'node:assert/strict';
import { createHmac, createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { exportSPKI, SignJWT } from 'jose';
import { loadConfig } from '../base/config.ts';
import { loadOrCreateTokenKeys, type TokenKeys } from './token-keys.ts';
import { TokenService } from './token-service.ts';

const b64 = (v: object | string) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

describe('token service', () => {
  let dir: string;
  let keys: TokenKeys;
  let clock = Date.now();
  const config = loadConfig({ overrides: { auth: { token: { issuer: 'wharf-test', service: 'registry-test', ttlSeconds: 60 } } } });
  const service = () => new TokenService({ keys, config, now: () => clock });
  const access = [{ type: 'repository', name: 'team/app', actions: ['pull'] }];

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-token-'));
    keys = await loadOrCreateTokenKeys(dir);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('keys are generated once, kept 0600 and reused with the same kid', async () => {
    assert.equal(statSync(join(dir, 'token-key.pem')).mode & 0o777, 0o600);
    const again = await loadOrCreateTokenKeys(dir);
    assert.equal(again.kid, keys.kid);
    assert.equal(keys.jwks.keys[0].kid, keys.kid);
    assert.equal(keys.jwks.keys[0].d, undefined, 'the JWKS never publishes the private part');
  });

  test('a seed (the database secret replicas share) derives the same key in two roots; an existing file wins', async () => {
    const seed = Buffer.alloc(32, 7);
    const [a, b] = [mkdtempSync(join(tmpdir(), 'wharf-token-a-')), mkdtempSync(join(tmpdir(), 'wharf-token-b-'))];
    try {
      const [first, second] = [await loadOrCreateTokenKeys(a, { seed }), await loadOrCreateTokenKeys(b, { seed })];
      assert.equal(first.kid, second.kid);
      assert.ok(first.created && second.created);
      const { token } = await new TokenService({ keys: first, config }).issue({ account: 'alice', admin: false }, access);
      assert.equal((await new TokenService({ keys: second, config }).verify(token)).subject, 'alice');
      assert.notEqual((await loadOrCreateTokenKeys(dir, { seed })).kid, first.kid, 'a key file already there is kept');
      assert.equal((await loadOrCreateTokenKeys(a, { seed: Buffer.alloc(32, 8) })).kid, first.kid, 'written once, then read');
    } finally {
      rmSync(a, { recursive: true, force: true });
      rmSync(b, { recursive: true, force: true });
    }
  });

  test('an issued token carries the Docker token claims and verifies', async () => {
    const { token } = await service().issue({ account: 'alice', admin: false }, access);
    const [header, payload] = token.split('.').slice(0, 2).map((p) => JSON.parse(Buffer.from(p, 'base64url').toString()));
    assert.equal(header.alg, 'ES256');
    assert.equal(header.kid, keys.kid);
    for (const claim of ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'jti', 'access']) assert.ok(claim in payload, claim);
    assert.deepEqual(await service().verify(token), { subject: 'alice', access });
  });

  test('an expired token is refused, within a small leeway', async () => {
    const { token } = await service().issue({ account: 'alice', admin: false }, access);
    clock += 70_000;
    await service().verify(token);
    clock += 30_000;
    await assert.rejects(service().verify(token), /expired/);
    clock = Date.now();
  });

  test('a tampered payload fails the signature check', async () => {
    const { token } = await service().issue({ account: 'alice', admin: false }, access);
    const [h, , s] = token.split('.');
    const forged = b64({ ...JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString()), access: [{ type: 'repository', name: 'team/app', actions: ['push'] }] });
    await assert.rejects(service().verify(`${h}.${forged}.${s}`), /signature/);
  });

  test('alg none is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${b64({ alg: 'none', typ: 'JWT', kid: keys.kid })}.${b64({ iss: 'wharf-test', aud: 'registry-test', sub: 'x', iat: now, exp: now + 60, access })}.`;
    await assert.rejects(service().verify(token), /not allowed|invalid/);
  });

  test('HMAC signed with the public key (algorithm confusion) is refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const secret = await exportSPKI(keys.publicKey);
    const head = b64({ alg: 'HS256', typ: 'JWT', kid: keys.kid });
    const body = b64({ iss: 'wharf-test', aud: 'registry-test', sub: 'x', iat: now, exp: now + 60, access });
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    await assert.rejects(service().verify(`${head}.${body}.${sig}`), /not allowed|invalid/);
  });

  test('wrong issuer, wrong audience and a foreign key are refused', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (claims: object, key = createPrivateKey(readFileSync(join(dir, 'token-key.pem'), 'utf8')), kid = keys.kid) =>
      new SignJWT({ access, ...claims }).setProtectedHeader({ alg: 'ES256', kid }).setSubject('x').setIssuedAt(now).setExpirationTime(now + 60).sign(key);
    await assert.rejects(service().verify(await sign({ iss: 'evil', aud: 'registry-test' })), /iss/);
    await assert.rejects(service().verify(await sign({ iss: 'wharf-test', aud: 'other' })), /aud/);
    const foreign = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await assert.rejects(service().verify(await sign({ iss: 'wharf-test', aud: 'registry-test' }, foreign)), /signature/);
  });

  test('a refresh token is never accepted as an access token, and is bound to the credential on record', async () => {
    const refresh = await service().issueRefresh({ account: 'alice', credential: '$2b$hash-one' });
    const claims = await service().verifyRefresh(refresh);
    assert.equal(claims.account, 'alice');
    assert.ok(service().stampMatches('$2b$hash-one', claims.stamp));
    assert.ok(!service().stampMatches('$2b$hash-two', claims.stamp), 'a new password voids it');
    assert.ok(!refresh.includes(Buffer.from('hash-one').toString('base64url')), 'the stamp reveals nothing of the hash');
    await assert.rejects(service().verify(refresh), /aud|refresh/);
    const access = await service().issue({ account: 'alice', admin: false }, []);
    await assert.rejects(service().verifyRefresh(access.token), /invalid refresh token/);
  });

  test('a robot token id travels in the access and refresh tokens', async () => {
    const { token } = await service().issue({ account: 'alice', admin: false, tokenId: '0123456789abcdef' }, access);
    assert.equal((await service().verify(token)).tokenId, '0123456789abcdef');
    const refresh = await service().issueRefresh({ account: 'alice', tokenId: '0123456789abcdef', credential: 'x' });
    assert.equal((await service().verifyRefresh(refresh)).tokenId, '0123456789abcdef');
  });

  test('garbage and oversized tokens are refused without throwing anything but a Fault', async () => {
    for (const bad of ['', 'a', 'a.b', 'a.b.c', '...', `${'x'.repeat(9000)}`, 'eyJhbGciOiJFUzI1NiJ9.e30.AAAA']) {
      await assert.rejects(service().verify(bad), (err: Error) => err.name === 'Fault', bad.slice(0, 20));
    }
  });
});

test('an RSA key in the key directory signs RS256 tokens that verify', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-token-rsa-'));
  try {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    writeFileSync(join(dir, 'token-key.pem'), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    const keys = await loadOrCreateTokenKeys(dir);
    assert.equal(keys.alg, 'RS256');
    const service = new TokenService({ keys, config: loadConfig() });
    const { token } = await service.issue({ account: 'ci', admin: false }, []);
    assert.equal(JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).alg, 'RS256');
    assert.equal((await service.verify(token)).subject, 'ci');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
