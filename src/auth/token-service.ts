import { createHash, createHmac, type KeyObject, randomUUID, timingSafeEqual } from 'node:crypto';
import { errors, type FlattenedJWSInput, type JWSHeaderParameters, jwtVerify, SignJWT } from 'jose';
import type { Config } from '../base/config.ts';
import { Fault } from '../base/fault.ts';
import type { Access, Identity } from './authorizer.ts';
import type { ExternalKeys } from './external-keys.ts';
import { algorithmsFor, asymmetricAlgorithms } from './jwt-algorithms.ts';
import type { TokenKeys } from './token-keys.ts';

export interface IssuedToken {
  token: string;
  expiresIn: number;
  issuedAt: string;
}

export interface VerifiedToken {
  /** The account, '' for an anonymous token. */
  subject: string;
  access: Access[];
  /** The robot token the caller signed in with, if any (claim `wharf_rid`; wharf's own tokens only). */
  tokenId?: string;
  /** Signed by an outside issuer: its `sub` names no local account. */
  external?: true;
}

export interface RefreshClaims {
  account: string;
  tokenId?: string;
  /** Binds the refresh token to the credential it was minted under: see `credentialStamp`. */
  stamp: string;
}

const leewaySeconds = 30;
const refreshTtlSeconds = 30 * 24 * 3600;
// Room for an `x5c` chain of a few RSA certificates in an external issuer's header.
const maxTokenLength = 16384;

/** Issues and checks registry tokens as the Docker token specification describes them. */
export class TokenService {
  readonly #keys: TokenKeys;
  readonly #issuer: string;
  readonly #service: string;
  readonly #ttl: number;
  readonly #now: () => number;
  readonly #stampKey: Buffer;
  readonly #external?: ExternalKeys;

  /** `external`: an outside issuer's keys (auth.token.rootCertBundle, auth.token.jwks), trusted for access tokens. */
  constructor(options: { keys: TokenKeys; config: Config; now?: () => number; external?: ExternalKeys }) {
    this.#keys = options.keys;
    this.#external = options.external;
    this.#issuer = options.config.auth.token.issuer;
    this.#service = options.config.auth.token.service;
    this.#ttl = options.config.auth.token.ttlSeconds;
    this.#now = options.now ?? Date.now;
    // Derived from the signing key so it survives restarts and is shared with a token server run alone.
    const der = this.#keys.privateKey.export({ type: 'pkcs8', format: 'der' });
    this.#stampKey = createHash('sha256').update('wharf refresh stamp\0').update(der).digest();
  }

  get service(): string {
    return this.#service;
  }

  get jwks(): object {
    return this.#keys.jwks;
  }

  /** An access token: claims iss, sub, aud (= service), exp, nbf, iat, jti and access[] as the token spec has them. */
  async issue(identity: Identity, access: Access[]): Promise<IssuedToken> {
    const now = Math.floor(this.#now() / 1000);
    const claims: Record<string, unknown> = { access: access.filter((a) => a.actions.length > 0) };
    if (identity.tokenId) claims.wharf_rid = identity.tokenId;
    const token = await this.#sign(claims)
      .setSubject(identity.account ?? '')
      .setAudience(this.#service)
      .setIssuedAt(now)
      .setNotBefore(now)
      .setExpirationTime(now + this.#ttl)
      .sign(this.#keys.privateKey);
    return { token, expiresIn: this.#ttl, issuedAt: new Date(now * 1000).toISOString() };
  }

  /**
   * Throws Fault unauthenticated with a short reason (expired, signature, claim) on any token it does not trust.
   * Trusted: our key (either `kid` form), or an external issuer's key; its `alg` must be one the key can verify.
   */
  async verify(token: string): Promise<VerifiedToken> {
    try {
      if (token.length > maxTokenLength) throw new Fault('unauthenticated', 'token too long');
      let external = false;
      const keyFor = async (header: JWSHeaderParameters, jws: FlattenedJWSInput): Promise<KeyObject> => {
        if (header.x5c === undefined && header.kid !== undefined && this.#keys.kids.includes(header.kid)) return checkedAlg(header, this.#keys.publicKey);
        if (!this.#external) throw new Fault('unauthenticated', 'token signed by an unknown key');
        external = true;
        return checkedAlg(header, await this.#external.keyFor(header, jws));
      };
      const { payload } = await jwtVerify(token, keyFor, this.#claimChecks(this.#service));
      // An outside issuer need not write iat or sub (distribution requires neither); ours always does.
      if (!external && (payload.iat === undefined || payload.sub === undefined)) throw new Fault('unauthenticated', 'token claim iat or sub is missing');
      if (payload.typ === 'refresh') throw new Fault('unauthenticated', 'a refresh token is not an access token');
      const verified: VerifiedToken = { subject: String(payload.sub ?? ''), access: parseAccessClaim(payload.access) };
      if (external) verified.external = true;
      else if (typeof payload.wharf_rid === 'string') verified.tokenId = payload.wharf_rid;
      return verified;
    } catch (err) {
      if (err instanceof Fault) throw err;
      throw new Fault('unauthenticated', describeJoseError(err), { cause: err });
    }
  }

  /**
   * OAuth2 refresh tokens (`access_type=offline`, dockerd's identity token): long-lived, bound to an account, a
   * robot token if one was used, and a stamp of the credential on record, so a password change, a deleted user or
   * a revoked robot token voids them. Never accepted as access tokens (own audience and `typ`).
   */
  async issueRefresh(claims: { account: string; tokenId?: string; credential: string }): Promise<string> {
    const now = Math.floor(this.#now() / 1000);
    const body: Record<string, unknown> = { typ: 'refresh', wharf_cst: this.credentialStamp(claims.credential) };
    if (claims.tokenId) body.wharf_rid = claims.tokenId;
    return this.#sign(body)
      .setSubject(claims.account)
      .setAudience(`${this.#service}/refresh`)
      .setIssuedAt(now)
      .setExpirationTime(now + refreshTtlSeconds)
      .sign(this.#keys.privateKey);
  }

  async verifyRefresh(token: string): Promise<RefreshClaims> {
    try {
      if (token.length > maxTokenLength) throw new Error('too long');
      const { payload, protectedHeader } = await jwtVerify(token, this.#keys.publicKey, this.#claimChecks(`${this.#service}/refresh`));
      if (protectedHeader.kid === undefined || !this.#keys.kids.includes(protectedHeader.kid)) throw new Error('unknown key');
      if (payload.typ !== 'refresh' || !payload.sub || typeof payload.wharf_cst !== 'string') throw new Error('not a refresh token');
      const claims: RefreshClaims = { account: payload.sub, stamp: payload.wharf_cst };
      if (typeof payload.wharf_rid === 'string') claims.tokenId = payload.wharf_rid;
      return claims;
    } catch (err) {
      throw new Fault('unauthenticated', 'invalid refresh token', { cause: err });
    }
  }

  /** A keyed digest of a stored credential hash: reveals nothing about it, changes whenever it does. */
  credentialStamp(credential: string): string {
    return createHmac('sha256', this.#stampKey).update(credential).digest('base64url').slice(0, 22);
  }

  stampMatches(credential: string, stamp: string): boolean {
    const want = Buffer.from(this.credentialStamp(credential));
    const got = Buffer.from(stamp);
    return want.length === got.length && timingSafeEqual(want, got);
  }

  #claimChecks(audience: string) {
    const algorithms = asymmetricAlgorithms;
    return { algorithms, issuer: this.#issuer, audience, clockTolerance: leewaySeconds, currentDate: new Date(this.#now()), requiredClaims: ['exp'] };
  }

  #sign(claims: Record<string, unknown>): SignJWT {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.#keys.alg, kid: this.#keys.kid, typ: 'JWT' })
      .setIssuer(this.#issuer)
      .setJti(randomUUID());
  }
}

function checkedAlg(header: JWSHeaderParameters, key: KeyObject): KeyObject {
  if (!header.alg || !algorithmsFor(key).includes(header.alg)) throw new Fault('unauthenticated', 'token algorithm not allowed for its key');
  return key;
}

function parseAccessClaim(claim: unknown): Access[] {
  if (!Array.isArray(claim)) return [];
  return claim.flatMap((entry) => {
    const { type, name, actions } = (entry ?? {}) as Record<string, unknown>;
    if (typeof type !== 'string' || typeof name !== 'string' || !Array.isArray(actions)) return [];
    return [{ type, name, actions: actions.filter((a): a is string => typeof a === 'string') }];
  });
}

function describeJoseError(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'token expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `token claim ${err.claim} is invalid`;
  if (err instanceof errors.JOSEAlgNotAllowed) return 'token algorithm not allowed';
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'token signature invalid';
  return 'invalid token';
}
