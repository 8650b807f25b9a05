import { join } from 'node:path';
import type { Config } from '../base/config.ts';
import type { Logger } from '../base/log.ts';
import type { SecretStore } from '../meta/secret-store.ts';
import type { UserStore } from '../meta/user-store.ts';
import { type Acl, compileAcl } from './acl.ts';
import { Accounts } from './accounts.ts';
import type { Authorizer } from './authorizer.ts';
import { ExternalKeys } from './external-keys.ts';
import { HtpasswdAuthorizer } from './htpasswd-authorizer.ts';
import { IndexTokens } from './index-tokens.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { NoneAuthorizer } from './none-authorizer.ts';
import { RateLimiter } from './rate-limiter.ts';
import { ensureTokenCertificate, tokenCertFile } from './token-certificate.ts';
import { loadOrCreateTokenKeys, tokenKeySeedSecret } from './token-keys.ts';
import { TokenAuthorizer } from './token-authorizer.ts';
import { TokenService } from './token-service.ts';

export interface CreateAuthOptions {
  config: Config;
  /** Users and robot tokens (migration scope 'auth' of the metadata backend). */
  users: UserStore;
  logger?: Logger;
  /** Milliseconds since the epoch; the wall clock by default. Tests move it to expire tokens and windows. */
  clock?: () => number;
  /** Failed-login counting shared by replicas (PgRateLimiter); this process's own RateLimiter when absent. */
  limiter?: LoginLimiter;
  /**
   * Where the v1 index tokens' HMAC key is kept, so every process on the metadata backend (replicas, a restart)
   * verifies what another issued. Absent: a key of this process alone (tests of one instance).
   */
  secrets?: SecretStore;
}

/** The SecretStore name of the v1 index tokens' key. */
export const indexTokenSecret = 'v1-index-token';

/** Everything the auth part offers the rest of wharf, built once from config. */
export interface AuthServices {
  /** The registry's seam: NoneAuthorizer, HtpasswdAuthorizer or TokenAuthorizer by `auth.mode`. */
  authorizer: Authorizer;
  /** Password and robot-token checks with rate limiting (v1's `GET /v1/users/`, Basic on v1 routes). */
  accounts: Accounts;
  /** The compiled ACL (v1 and search decide with it). */
  acl: Acl;
  /** The legacy index's X-Docker-Token. */
  indexTokens: IndexTokens;
  /** Token mode only: the token server's issuer and verifier, for `registerTokenRoutes`. */
  tokens?: TokenService;
}

/** The configured Authorizer (the fixed entry point other parts name). */
export async function createAuthorizer(options: CreateAuthOptions): Promise<Authorizer> {
  return (await createAuthServices(options)).authorizer;
}

/**
 * Builds the configured auth mode over the user store. Fails at start, not on a request, when an ACL rule
 * cannot work or the signing key is unusable.
 */
export async function createAuthServices(options: CreateAuthOptions): Promise<AuthServices> {
  const { config, users, logger, clock } = options;
  const acl = compileAcl(config.auth.acl);
  const limiter = options.limiter ?? new RateLimiter({ limit: config.auth.rateLimit.failures, windowSeconds: config.auth.rateLimit.windowSeconds, now: clock });
  const accounts = new Accounts({ users, htpasswd: config.auth.htpasswd, limiter, now: clock, logger });
  const key = await options.secrets?.secret(indexTokenSecret);
  const base = { accounts, acl, indexTokens: new IndexTokens({ now: clock, ...(key ? { key } : {}) }) };
  if (config.auth.mode === 'none') return { ...base, authorizer: new NoneAuthorizer() };
  if (config.auth.mode === 'htpasswd') return { ...base, authorizer: new HtpasswdAuthorizer({ accounts, acl, config }) };
  const seed = await options.secrets?.secret(tokenKeySeedSecret);
  const tokens = await createTokenService(config, { logger, clock, seed });
  return { ...base, tokens, authorizer: new TokenAuthorizer({ tokens, accounts, acl, config }) };
}

/** The token issuer/verifier alone, for a token server run without a registry (`wharf auth serve`). */
export async function createTokenService(config: Config, options: { logger?: Logger; clock?: () => number; seed?: Buffer } = {}): Promise<TokenService> {
  const dir = tokenKeyDir(config);
  const keys = await loadOrCreateTokenKeys(dir, { algorithm: config.auth.token.algorithm, seed: options.seed });
  if (keys.created) options.logger?.info({ dir, kid: keys.kid, alg: keys.alg }, 'token signing key generated');
  try {
    ensureTokenCertificate(dir, keys.publicKey);
  } catch (err) {
    // Only registry:2 interop needs the certificate; wharf's own tokens work without it.
    options.logger?.warn({ err: (err as Error).message }, `no ${tokenCertFile} for the token key (registry:2 cannot trust wharf's tokens)`);
  }
  const external = ExternalKeys.load(config.auth.token, options.clock);
  return new TokenService({ keys, config, now: options.clock, external });
}

/** Where the token signing key and its certificate live: `auth.token.keyDir`, else `<root>/auth`. */
export function tokenKeyDir(config: Config): string {
  return config.auth.token.keyDir || join(config.root, 'auth');
}
