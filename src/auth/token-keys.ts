import { createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
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

/**
 * The token server's signing key in `<dir>/token-key.pem` (0600, dir 0700): generated on first start (ES256 by
 * default, RS256 when asked) and reused after, so tokens survive a restart and a token server run alone shares it
 * with registries on the same root. Any P-256 EC or RSA key put there is used as it is (e.g. one docker_auth
 * already has); its algorithm follows the key. `kid` is the key's libtrust ID, so registry:2 trusts the tokens
 * given the certificate `token.crt` (token-certificate.ts); tokens carrying the RFC 7638 thumbprint, the `kid`
 * wharf wrote before, still verify (refresh tokens live for weeks).
 */
export async function loadOrCreateTokenKeys(dir: string, options: { algorithm?: 'ES256' | 'RS256' } = {}): Promise<TokenKeys> {
  const path = join(dir, tokenKeyFile);
  const created = !existsSync(path) && (await createKey(dir, path, options.algorithm ?? 'ES256'));
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
async function createKey(dir: string, path: string, algorithm: 'ES256' | 'RS256'): Promise<boolean> {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(algorithm, { extractable: true, modulusLength: 3072 });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, await exportPKCS8(privateKey), { mode: 0o600, flag: 'wx' });
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
