import { createECDH, createHmac, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { libtrustKeyId } from './libtrust-key-id.ts';

export interface TokenKeys {
  /** libtrust's key ID, what registry:2 and docker_auth put in `kid` (see libtrust-key-id.ts). */
  kid: string;
  /** Every `kid` this key's tokens may carry: the libtrust ID, and the RFC 7638 thumbprint earlier wharf wrote. */
  kids: string[];
  alg: 'ES256' | 'RS256';
  privateKey: KeyObject;
  publicKey: KeyObject;
  jwks: { keys: JWK[] };
  /** True when this call generated the key. */
  created: boolean;
}

export const tokenKeyFile = 'token-key.pem';

/** The SecretStore name whose secret seeds a generated ES256 key, so replicas on one database sign alike. */
export const tokenKeySeedSecret = 'token-signing-key-seed';

// P-256's group order: a private scalar must lie in [1, n-1].
const p256Order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

/**
 * The token server's signing key in `<dir>/token-key.pem` (0600, dir 0700): generated on first start (ES256 by
 * default, RS256 when asked) and reused after, so tokens survive a restart and a token server run alone shares it
 * with registries on the same root. Any P-256 EC or RSA key put there is used as it is (e.g. one docker_auth
 * already has); its algorithm follows the key. `kid` is the key's libtrust ID, so registry:2 trusts the tokens
 * given the certificate `token.crt` (token-certificate.ts); tokens carrying the RFC 7638 thumbprint, the `kid`
 * wharf wrote before, still verify (refresh tokens live for weeks).
 *
 * With a `seed` (the metadata backend's shared secret), a generated ES256 key is derived from it instead of drawn
 * at random: replicas on one PostgreSQL with roots of their own then write the same key and verify each other's
 * tokens. A key file already there, or an RS256 one, is never derived: it must be copied to every replica.
 */
export async function loadOrCreateTokenKeys(dir: string, options: { algorithm?: 'ES256' | 'RS256'; seed?: Buffer } = {}): Promise<TokenKeys> {
  const path = join(dir, tokenKeyFile);
  const created = !existsSync(path) && (await createKey(dir, path, options.algorithm ?? 'ES256', options.seed));
  chmodSync(path, 0o600);
  const privateKey = createPrivateKey(readFileSync(path, 'utf8'));
  const alg = privateKey.asymmetricKeyType === 'rsa' ? 'RS256' : 'ES256';
  if (alg === 'ES256' && privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${path}: want a P-256 EC or an RSA key`);
  }
  const publicKey = createPublicKey(privateKey);
  const jwk = await exportJWK(publicKey);
  const kid = libtrustKeyId(publicKey);
  const kids = [kid, await calculateJwkThumbprint(jwk)];
  return { kid, kids, alg, privateKey, publicKey, jwks: { keys: [{ ...jwk, kid, alg, use: 'sig' }] }, created };
}

/** Written aside then hard-linked into place: a registry and a token server starting together agree on one key. */
async function createKey(dir: string, path: string, algorithm: 'ES256' | 'RS256', seed: Buffer | undefined): Promise<boolean> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const pem = seed && algorithm === 'ES256' ? seededP256Pem(seed) : await exportPKCS8((await generateKeyPair(algorithm, { extractable: true, modulusLength: 3072 })).privateKey);
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, pem, { mode: 0o600, flag: 'wx' });
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw err;
  } finally {
    unlinkSync(temp);
  }
}

/** A P-256 private key whose scalar is HMAC-SHA256(seed, label, counter), the first that lies in the group. */
function seededP256Pem(seed: Buffer): string {
  for (let counter = 0; ; counter++) {
    const scalar = createHmac('sha256', seed).update(`wharf token signing key P-256 ${counter}`).digest();
    const value = BigInt(`0x${scalar.toString('hex')}`);
    if (value === 0n || value >= p256Order) continue;
    const ecdh = createECDH('prime256v1');
    ecdh.setPrivateKey(scalar);
    const point = ecdh.getPublicKey();
    const jwk = { kty: 'EC', crv: 'P-256', d: scalar.toString('base64url'), x: point.subarray(1, 33).toString('base64url'), y: point.subarray(33).toString('base64url') };
    return createPrivateKey({ key: jwk, format: 'jwk' }).export({ type: 'pkcs8', format: 'pem' }).toString();
  }
}
