import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHmac, generateKeyPairSync, type KeyObject, randomUUID, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { calculateJwkThumbprint, exportJWK, type JWSHeaderParameters, SignJWT } from 'jose';
import { loadConfig } from '../base/config.ts';
import { ExternalKeys } from './external-keys.ts';
import { libtrustKeyId } from './libtrust-key-id.ts';
import { loadOrCreateTokenKeys, type TokenKeys } from './token-keys.ts';
import { TokenService } from './token-service.ts';

const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
const access = [{ type: 'repository', name: 'team/app', actions: ['pull', 'push'] }];

/** openssl, as an operator would make docker_auth's certificate: node:crypto cannot write X.509. */
function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function writeKey(dir: string, name: string, key: KeyObject): string {
  const path = join(dir, `${name}.key`);
  writeFileSync(path, key.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
  return path;
}

function der(path: string): string {
  return new X509Certificate(readFileSync(path)).raw.toString('base64');
}

describe('tokens from an outside issuer (docker_auth), trusted as registry:2 trusts them', () => {
  let dir: string;
  let own: TokenKeys;
  let clock = Date.now();
  // docker_auth's usual key: RSA with a self-signed certificate, the registry's rootcertbundle.
  const dockerAuth = generateKeyPairSync('rsa', { modulusLength: 2048 });
  // A CA the bundle holds, and a leaf it signs, for tokens carrying an x5c chain.
  const ca = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const leaf = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const stranger = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwksKey = generateKeyPairSync('ec', { namedCurve: 'secp384r1' });
  let bundle: string;
  let leafCert: string;
  let strangerCert: string;
  let jwksFile: string;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wharf-external-'));
    own = await loadOrCreateTokenKeys(join(dir, 'own'));
    const cert = (key: string, out: string, subject: string, extra: string[] = []) =>
      openssl(['req', '-x509', '-new', '-key', key, '-subj', subject, '-days', '30', '-sha256', '-out', out, ...extra]);
    cert(writeKey(dir, 'docker-auth', dockerAuth.privateKey), join(dir, 'docker-auth.crt'), '/CN=docker_auth');
    cert(writeKey(dir, 'ca', ca.privateKey), join(dir, 'ca.crt'), '/CN=token CA');
    cert(writeKey(dir, 'stranger', stranger.privateKey), join(dir, 'stranger.crt'), '/CN=stranger CA');
    openssl(['req', '-new', '-key', writeKey(dir, 'leaf', leaf.privateKey), '-subj', '/CN=token signer', '-out', join(dir, 'leaf.csr')]);
    openssl(['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '30', '-sha256', '-out', join(dir, 'leaf.crt')]);
    openssl(['x509', '-req', '-in', join(dir, 'leaf.csr'), '-CA', join(dir, 'stranger.crt'), '-CAkey', join(dir, 'stranger.key'), '-CAcreateserial', '-days', '30', '-out', join(dir, 'leaf-by-stranger.crt')]);
    bundle = join(dir, 'bundle.pem');
    writeFileSync(bundle, readFileSync(join(dir, 'docker-auth.crt'), 'utf8') + readFileSync(join(dir, 'ca.crt'), 'utf8'));
    leafCert = der(join(dir, 'leaf.crt'));
    strangerCert = der(join(dir, 'leaf-by-stranger.crt'));
    jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify({ keys: [{ ...(await exportJWK(jwksKey.publicKey)), kid: 'jwks-key-1', use: 'sig' }] }));
    // The certificates are valid from the second they were made, after the clock was first read.
    clock = Date.now() + 1000;
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const service = (sources: { rootCertBundle?: string; jwks?: string } = { rootCertBundle: bundle }) => {
    const config = loadConfig({ overrides: { auth: { token: { issuer: 'auth-service', service: 'wharf-registry', ...sources } } } });
    return new TokenService({ keys: own, config, now: () => clock, external: ExternalKeys.load(config.auth.token, () => clock) });
  };

  /** Claims as docker_auth writes them (iss, sub, aud as a string, exp, nbf, iat, jti, access). */
  const sign = (key: KeyObject, header: JWSHeaderParameters & { alg: string }, claims: Record<string, unknown> = {}) => {
    const now = Math.floor(clock / 1000);
    return new SignJWT({ access, ...claims })
      .setProtectedHeader({ typ: 'JWT', ...header })
      .setIssuer(String(claims.iss ?? 'auth-service'))
      .setSubject('alice')
      .setAudience(String(claims.aud ?? 'wharf-registry'))
      .setIssuedAt(now)
      .setNotBefore(now - 1)
      .setExpirationTime(Number(claims.exp ?? now + 300))
      .setJti(randomUUID())
      .sign(key);
  };

  test('RS256 with the libtrust key ID of a bundle certificate\'s key, as docker_auth signs', async () => {
    const token = await sign(dockerAuth.privateKey, { alg: 'RS256', kid: libtrustKeyId(dockerAuth.publicKey) });
    assert.deepEqual(await service().verify(token), { subject: 'alice', access, external: true });
  });

  test('an x5c chain that leads to a bundle CA; one that leads elsewhere is refused', async () => {
    assert.equal((await service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: [leafCert] }))).subject, 'alice');
    assert.equal((await service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: [leafCert, der(join(dir, 'ca.crt'))] }))).subject, 'alice');
    const selfSigned = await sign(dockerAuth.privateKey, { alg: 'RS256', x5c: [der(join(dir, 'docker-auth.crt'))] });
    assert.equal((await service().verify(selfSigned)).subject, 'alice', 'a leaf that is itself in the bundle');
    await assert.rejects(service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: [strangerCert] })), /does not lead to a trusted root/);
    await assert.rejects(service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: [strangerCert, der(join(dir, 'stranger.crt'))] })), /trusted root/);
    const other = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    await assert.rejects(service().verify(await sign(other, { alg: 'ES256', x5c: [leafCert] })), /signature/, 'the leaf key must have signed');
    await assert.rejects(service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: ['bm90IGEgY2VydA=='] })), /does not parse/);
  });

  test('a certificate out of its validity breaks the chain', async () => {
    const later = Date.now() + 40 * 24 * 3600 * 1000;
    clock = later;
    try {
      await assert.rejects(service().verify(await sign(leaf.privateKey, { alg: 'ES256', x5c: [leafCert] })), /not valid now/);
    } finally {
      clock = Date.now();
    }
  });

  test('only what the key allows: none, HMAC, and an algorithm of another key type are refused', async () => {
    const kid = libtrustKeyId(dockerAuth.publicKey);
    const now = Math.floor(clock / 1000);
    const body = b64({ iss: 'auth-service', aud: 'wharf-registry', sub: 'alice', exp: now + 60, access });
    await assert.rejects(service().verify(`${b64({ alg: 'none', kid })}.${body}.`), /not allowed|invalid/);
    const head = b64({ alg: 'HS256', kid });
    const mac = createHmac('sha256', readFileSync(join(dir, 'docker-auth.crt'))).update(`${head}.${body}`).digest('base64url');
    await assert.rejects(service().verify(`${head}.${body}.${mac}`), /not allowed/);
    const ps = await sign(dockerAuth.privateKey, { alg: 'PS256', kid });
    assert.equal((await service().verify(ps)).subject, 'alice', 'RSA-PSS is an RSA key\'s algorithm too');
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    await assert.rejects(service().verify(await sign(ec.privateKey, { alg: 'ES256', kid })), /not allowed for its key/);
  });

  test('issuer, audience, expiry and an unknown kid are checked', async () => {
    const kid = libtrustKeyId(dockerAuth.publicKey);
    await assert.rejects(service().verify(await sign(dockerAuth.privateKey, { alg: 'RS256', kid }, { iss: 'someone' })), /iss/);
    await assert.rejects(service().verify(await sign(dockerAuth.privateKey, { alg: 'RS256', kid }, { aud: 'other-registry' })), /aud/);
    await assert.rejects(service().verify(await sign(dockerAuth.privateKey, { alg: 'RS256', kid }, { exp: Math.floor(clock / 1000) - 120 })), /expired/);
    await assert.rejects(service().verify(await sign(stranger.privateKey, { alg: 'RS256', kid: libtrustKeyId(stranger.publicKey) })), /unknown key/);
    await assert.rejects(service().verify(await sign(dockerAuth.privateKey, { alg: 'RS256' })), /unknown key/, 'no kid, no x5c');
    const withJwk = await sign(stranger.privateKey, { alg: 'RS256', jwk: await exportJWK(stranger.publicKey) });
    await assert.rejects(service().verify(withJwk), /unknown key/, 'an embedded jwk is never trusted');
    await assert.rejects(service({}).verify(await sign(dockerAuth.privateKey, { alg: 'RS256', kid })), /unknown key/, 'nothing configured');
  });

  test('a JWKS file or URL as the alternative', async () => {
    const token = await sign(jwksKey.privateKey, { alg: 'ES384', kid: 'jwks-key-1' });
    assert.equal((await service({ jwks: jwksFile }).verify(token)).subject, 'alice');
    await assert.rejects(service({ jwks: jwksFile }).verify(await sign(jwksKey.privateKey, { alg: 'ES384', kid: 'other' })), /unknown key/);
    const fetched: string[] = [];
    const fetchJwks = async (url: string) => {
      fetched.push(url);
      return new Response(readFileSync(jwksFile), { headers: { 'content-type': 'application/json' } });
    };
    const url = 'https://issuer.example/jwks';
    const config = loadConfig({ overrides: { auth: { token: { issuer: 'auth-service', service: 'wharf-registry', jwks: url } } } });
    const remote = new TokenService({ keys: own, config, now: () => clock, external: ExternalKeys.load(config.auth.token, () => clock, fetchJwks) });
    assert.equal((await remote.verify(token)).subject, 'alice');
    assert.deepEqual(fetched, [url]);
    assert.throws(() => ExternalKeys.load({ rootCertBundle: '', jwks: bundle }), /not a JWKS/);
    assert.throws(() => ExternalKeys.load({ rootCertBundle: '', jwks: 'http://issuer.example/jwks' }), /auth\.token\.jwks: a JWKS URL must be https/);
    assert.throws(() => ExternalKeys.load({ rootCertBundle: '', jwks: 'HTTP://issuer.example/jwks' }), /must be https/);
    assert.throws(() => ExternalKeys.load({ rootCertBundle: jwksFile, jwks: '' }), /holds no certificate/);
  });

  test('wharf\'s own tokens carry the libtrust kid, and the RFC 7638 thumbprint kid of before still verifies', async () => {
    const issued = await new TokenService({ keys: own, config: loadConfig() }).issue({ account: 'alice', admin: false }, access);
    assert.equal(JSON.parse(Buffer.from(issued.token.split('.')[0], 'base64url').toString()).kid, libtrustKeyId(own.publicKey));
    const thumbprint = await calculateJwkThumbprint(await exportJWK(own.publicKey));
    const old = await sign(own.privateKey, { alg: 'ES256', kid: thumbprint });
    assert.equal((await service().verify(old)).subject, 'alice');
  });
});
