import type { Config } from '../base/config.ts';
import type { Acl } from './acl.ts';
import type { Accounts } from './accounts.ts';
import type { Access, AuthDecision, AuthRequest, Authorizer, Identity } from './authorizer.ts';
import { parseAuthorization } from './credentials.ts';
import { unauthorized } from './decisions.ts';
import { realmFor } from './realm.ts';
import { covers, formatScope } from './scope.ts';
import type { TokenService } from './token-service.ts';

/**
 * Auth mode `token`: the registry accepts only Bearer tokens from the token server (signature, alg allowlist,
 * issuer, audience = service, exp/nbf with leeway) and checks their `access` claim. Everything else is a 401 with
 * the Bearer challenge that sends the client to the realm; a valid token that lacks the access adds
 * `error="insufficient_scope"`.
 */
export class TokenAuthorizer implements Authorizer {
  readonly mode = 'token' as const;
  readonly #tokens: TokenService;
  readonly #accounts: Accounts;
  readonly #acl: Acl;
  readonly #config: Config;

  constructor(options: { tokens: TokenService; accounts: Accounts; acl: Acl; config: Config }) {
    this.#tokens = options.tokens;
    this.#accounts = options.accounts;
    this.#acl = options.acl;
    this.#config = options.config;
  }

  async authorize(request: AuthRequest, needs: Access[]): Promise<AuthDecision> {
    const credentials = parseAuthorization(request.authorization);
    if (credentials.kind !== 'bearer') {
      const message = credentials.kind === 'malformed' ? credentials.reason : 'authentication required';
      return unauthorized(this.challenge(request, needs), needs, message);
    }
    let verified;
    try {
      verified = await this.#tokens.verify(credentials.token);
    } catch (err) {
      return unauthorized(this.challenge(request, needs, 'invalid_token'), needs, (err as Error).message);
    }
    const identity = verified.external ? externalIdentity(verified.subject) : await this.#identity(verified.subject, verified.tokenId);
    if (!identity) return unauthorized(this.challenge(request, needs, 'invalid_token'), needs, 'token revoked');
    if (!covers(verified.access, needs)) {
      return unauthorized(this.challenge(request, needs, 'insufficient_scope'), needs, 'insufficient scope');
    }
    return { allowed: true, identity, granted: verified.access };
  }

  /** `Bearer realm="…",service="…"[,scope="…"][,error="…"]` as distribution writes it. */
  challenge(request: Pick<AuthRequest, 'host' | 'secure'>, needs: Access[], error?: string): string {
    let challenge = `Bearer realm="${realmFor(this.#config, request)}",service="${this.#tokens.service}"`;
    const scopes = needs.filter((n) => n.actions.length > 0).map(formatScope);
    if (scopes.length) challenge += `,scope="${scopes.join(' ')}"`;
    if (error) challenge += `,error="${error}"`;
    return challenge;
  }

  /** The catalog needs a token for registry:catalog:*; what it lists still follows the caller's ACL. */
  async filterPullable(identity: Identity, names: string[], ip: string): Promise<string[]> {
    return this.#acl.pullable({ identity, ip, anonymousPull: this.#config.auth.anonymousPull }, names);
  }

  /**
   * Who one of our own tokens speaks for, re-read so that admin flags and a robot token's scopes hold for the
   * catalog. Our token server issues tokens only to local accounts (an outside issuer's are `external`, read by
   * externalIdentity), so a subject that is no longer one — a robot token revoked, an account disabled or deleted
   * since the access token was issued — voids it at once (undefined).
   */
  async #identity(subject: string, tokenId: string | undefined): Promise<Identity | undefined> {
    if (!subject) return { admin: false };
    if (tokenId) return (await this.#accounts.current(subject, tokenId))?.principal.identity;
    return this.#accounts.identityOf(subject);
  }
}

/**
 * An outside issuer's subject lives in its own namespace: it never takes a local account's admin flag (catalog,
 * search, /metrics) or robot token; what it may do is its token's `access` claim.
 */
function externalIdentity(subject: string): Identity {
  return subject ? { account: subject, admin: false } : { admin: false };
}
