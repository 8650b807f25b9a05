import { KeyObject, type X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  createLocalJWKSet,
  createRemoteJWKSet,
  customFetch,
  type FetchImplementation,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWSHeaderParameters,
} from 'jose';
import { Fault } from '../base/fault.ts';
import { parseCertificateBundle, verifyCertificateChain } from './certificate-chain.ts';
import { libtrustKeyId } from './libtrust-key-id.ts';

type JwksLookup = (header: JWSHeaderParameters, token: FlattenedJWSInput) => Promise<unknown>;

export interface ExternalKeySources {
  /** PEM file of certificates: their keys by libtrust ID, and the roots an `x5c` chain must lead to. */
  rootCertBundle: string;
  /** An https URL or a file holding a JWKS (plain http is refused: whoever is on the path could add a key). */
  jwks: string;
}

function unknownKey(cause?: unknown): Fault {
  return new Fault('unauthenticated', 'token signed by an unknown key', cause ? { cause } : {});
}

/**
 * The keys of an external token issuer (docker_auth, or anything signing the way registry:2 expects), trusted as
 * registry:2 trusts them: an `x5c` chain that leads to a certificate of the bundle, else a `kid` that is the
 * libtrust ID of a bundle certificate's key, else a key of the JWKS (by `kid`; a URL is cached and fetched again
 * when an unknown `kid` shows up, at most every 30 s). An embedded `jwk` header is never trusted.
 */
export class ExternalKeys {
  readonly #roots: X509Certificate[];
  readonly #byKid: Map<string, KeyObject>;
  readonly #jwks?: JwksLookup;
  readonly #now: () => number;

  private constructor(roots: X509Certificate[], jwks: JwksLookup | undefined, now: () => number) {
    this.#roots = roots;
    this.#byKid = new Map(roots.map((cert) => [libtrustKeyId(cert.publicKey), cert.publicKey]));
    this.#jwks = jwks;
    this.#now = now;
  }

  /**
   * undefined when neither source is configured; throws invalid-argument at start on an unusable one.
   * `fetchJwks` replaces fetch for a JWKS URL (tests).
   */
  static load(sources: ExternalKeySources, now: () => number = Date.now, fetchJwks?: FetchImplementation): ExternalKeys | undefined {
    if (!sources.rootCertBundle && !sources.jwks) return undefined;
    const roots = sources.rootCertBundle ? readBundle(sources.rootCertBundle) : [];
    return new ExternalKeys(roots, sources.jwks ? jwksLookup(sources.jwks, fetchJwks) : undefined, now);
  }

  async keyFor(header: JWSHeaderParameters, token: FlattenedJWSInput): Promise<KeyObject> {
    if (header.x5c !== undefined) {
      if (this.#roots.length === 0) throw unknownKey();
      return verifyCertificateChain(header.x5c, this.#roots, new Date(this.#now()));
    }
    const known = header.kid ? this.#byKid.get(header.kid) : undefined;
    if (known) return known;
    if (!this.#jwks) throw unknownKey();
    let key: unknown;
    try {
      key = await this.#jwks(header, token);
    } catch (err) {
      throw unknownKey(err);
    }
    if (key instanceof KeyObject) return key;
    if (key instanceof globalThis.CryptoKey) return KeyObject.from(key);
    throw unknownKey();
  }
}

function readBundle(path: string): X509Certificate[] {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    throw new Fault('invalid-argument', `auth.token.rootCertBundle: cannot read ${path}: ${(err as Error).message}`, { cause: err });
  }
  const certs = parseCertificateBundle(pem, `auth.token.rootCertBundle ${path}`);
  if (certs.length === 0) throw new Fault('invalid-argument', `auth.token.rootCertBundle: ${path} holds no certificate`);
  return certs;
}

function jwksLookup(source: string, fetchJwks: FetchImplementation | undefined): JwksLookup {
  if (/^http:\/\//i.test(source)) {
    throw new Fault('invalid-argument', 'auth.token.jwks: a JWKS URL must be https (or a file): over plain http anyone on the path could add a key');
  }
  if (/^https:\/\//i.test(source)) {
    const options = { cacheMaxAge: 10 * 60_000, cooldownDuration: 30_000, timeoutDuration: 5_000 };
    return createRemoteJWKSet(new URL(source), fetchJwks ? { ...options, [customFetch]: fetchJwks } : options);
  }
  try {
    return createLocalJWKSet(JSON.parse(readFileSync(source, 'utf8')) as JSONWebKeySet);
  } catch (err) {
    throw new Fault('invalid-argument', `auth.token.jwks: ${source} is not a JWKS: ${(err as Error).message}`, { cause: err });
  }
}
