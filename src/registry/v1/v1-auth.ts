import type { Acl } from '../../auth/acl.ts';
import type { Accounts } from '../../auth/accounts.ts';
import type { Authorizer, Identity } from '../../auth/authorizer.ts';
import { type IndexAccess, type IndexGrant, IndexTokens } from '../../auth/index-tokens.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';

export type V1Action = 'pull' | 'push' | 'delete';

/** Who is asking, as far as the 2014 protocol can tell. */
export interface V1Caller {
  /** From Basic credentials; anonymous otherwise (a token alone names no identity the ACL should widen). */
  identity: Identity;
  /** The index grant carried by `Authorization: Token …`, or by the session cookie the registry set. */
  grant?: IndexGrant;
  /** Whether the grant came from a valid token in the Authorization header (rather than the session cookie). */
  tokenHeader: boolean;
  ip: string;
}

export interface V1AuthDeps {
  accounts: Accounts;
  acl: Acl;
  tokens: IndexTokens;
  config: Config;
  /** Token mode: checks the Bearer tokens dockerd sends to search with (scope `registry:catalog:search`). */
  authorizer?: Authorizer;
}

const searchAccess = [{ type: 'registry', name: 'catalog', actions: ['search'] }];

export const sessionCookieName = 'session';

/**
 * v1 credentials over the auth part's users, ACL and index tokens. Standalone (auth none or htpasswd): Basic on
 * any route. Index mode (auth token): the index routes take Basic and hand out `X-Docker-Token`, which the
 * registry routes accept (hub_registry_spec). Either way a registry that verified a token sets a session cookie
 * carrying the same signed grant, so the cookie-only requests of the seed's push sequence are authorised.
 */
export class V1Auth {
  readonly #accounts: Accounts;
  readonly #acl: Acl;
  readonly #tokens: IndexTokens;
  readonly #config: Config;
  readonly #authorizer?: Authorizer;

  constructor(deps: V1AuthDeps) {
    this.#authorizer = deps.authorizer;
    this.#accounts = deps.accounts;
    this.#acl = deps.acl;
    this.#tokens = deps.tokens;
    this.#config = deps.config;
  }

  /** Auth mode none: every caller may do everything. */
  get open(): boolean {
    return this.#config.auth.mode === 'none';
  }

  /** What `/v1/_ping` answers as X-Docker-Registry-Standalone. */
  get standalone(): boolean {
    return this.#config.auth.mode !== 'token';
  }

  /** Resolves the caller; throws unauthenticated for bad credentials (a credential sent must be valid). */
  async caller(headers: { authorization?: string; cookie?: string }, ip: string): Promise<V1Caller> {
    const { authorization } = headers;
    const grant = await this.#live(this.#cookieGrant(headers.cookie));
    if (authorization && /^token\s/i.test(authorization)) {
      const token = await this.#live(this.#tokens.verify(authorization));
      if (token) return { identity: { admin: false }, grant: token, tokenHeader: true, ip };
      // docker 1.x keeps sending the token it got at the start of a push; the session outlives it (see refresh).
      if (grant) return { identity: { admin: false }, grant, tokenHeader: false, ip };
      throw new Fault('unauthenticated', 'invalid or expired token');
    }
    if (!authorization) return { identity: { admin: false }, ...(grant ? { grant } : {}), tokenHeader: false, ip };
    const login = await this.#accounts.authenticateBasic(authorization, ip);
    if (!login.ok) {
      if (login.reason === 'rate-limited') {
        throw new Fault('unavailable', `too many failed logins, retry in ${login.retryAfter} seconds`, { code: 'TOOMANYREQUESTS', detail: { retryAfter: login.retryAfter } });
      }
      throw new Fault('unauthenticated', login.reason === 'malformed' ? 'unsupported authorization: use Basic or Token' : 'Wrong username or password');
    }
    return { identity: login.principal.identity, ...(grant ? { grant } : {}), tokenHeader: false, ip };
  }

  /**
   * The caller of a search that carries a Bearer token in token mode, undefined otherwise: dockerd signed in with
   * an identity token searches with a token for `registry:catalog:search` (moby registry.Service.Search).
   */
  async bearerSearchCaller(authorization: string | undefined, ip: string): Promise<V1Caller | undefined> {
    if (!authorization || !/^bearer\s/i.test(authorization) || this.#authorizer?.mode !== 'token') return undefined;
    const decision = await this.#authorizer.authorize({ authorization, ip, protocol: 'v1' }, searchAccess);
    if (!decision.allowed) throw new Fault('unauthenticated', decision.message);
    return { identity: decision.identity, tokenHeader: false, ip };
  }

  may(caller: V1Caller, repository: string, action: V1Action): boolean {
    if (this.open) return true;
    if (caller.grant && IndexTokens.allows(caller.grant, repository, action)) return true;
    const ctx = { identity: caller.identity, ip: caller.ip, anonymousPull: this.#config.auth.anonymousPull };
    return this.#acl.allowedActions(ctx, { type: 'repository', name: repository }).includes(action);
  }

  require(caller: V1Caller, repository: string, action: V1Action): void {
    if (this.may(caller, repository, action)) return;
    if (!this.authenticated(caller)) throw new Fault('unauthenticated', 'authentication required');
    throw new Fault('permission-denied', `${action} access to ${repository} is denied`);
  }

  /** Names the caller may pull (search). */
  pullable(caller: V1Caller, names: string[]): string[] {
    return names.filter((name) => this.may(caller, name, 'pull'));
  }

  authenticated(caller: V1Caller): boolean {
    return this.open || caller.identity.account !== undefined || caller.grant !== undefined;
  }

  /**
   * Image uploads name no repository: they need a write grant (the index's token or cookie), or, standalone,
   * any signed-in account. The repository of a write grant then holds what is uploaded.
   */
  requireImageUpload(caller: V1Caller): { holder?: string } {
    if (caller.grant?.access === 'write') return { holder: caller.grant.repository };
    if (this.open || caller.identity.account) return {};
    if (caller.grant) throw new Fault('permission-denied', 'image uploads need a write token');
    throw new Fault('unauthenticated', 'authentication required');
  }

  /** The X-Docker-Token value for a repository, signed and short-lived. */
  issue(caller: V1Caller, repository: string, access: IndexAccess): string {
    const account = caller.identity.account ?? caller.grant?.account;
    return this.#tokens.issue({ ...(account ? { account } : {}), repository, access });
  }

  /**
   * The session cookie for a request that carried a grant: the same grant, signed anew, so a push that keeps
   * talking to the registry outlives its first token (each one lasts minutes; a session ends only when idle).
   */
  refreshedSession(caller: V1Caller, secure: boolean): string | undefined {
    return caller.grant ? this.sessionCookie(this.#tokens.issue(caller.grant), secure) : undefined;
  }

  /** A session cookie carrying the same grant as `token`. */
  sessionCookie(token: string, secure: boolean): string {
    return `${sessionCookieName}=${Buffer.from(token).toString('base64url')}; Path=/v1/; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }

  /** WWW-Authenticate for a 401: Basic when standalone; index mode adds Token, and registry routes take only Token. */
  challenge(route: 'index' | 'registry'): string {
    const basic = `Basic realm="${this.#config.auth.realm.replace(/["\\]/g, '')}"`;
    if (this.standalone) return basic;
    return route === 'registry' ? 'Token' : `${basic},Token`;
  }

  /**
   * A grant made for an account holds only while the account does: its tokens are stateless and last minutes, and a
   * user deleted or disabled meanwhile must lose them at once, as their password and sessions.
   */
  async #live(grant: IndexGrant | undefined): Promise<IndexGrant | undefined> {
    if (!grant?.account) return grant;
    return (await this.#accounts.identityOf(grant.account)) ? grant : undefined;
  }

  #cookieGrant(cookie: string | undefined): IndexGrant | undefined {
    const value = cookie
      ?.split(';')
      .map((part) => part.trim())
      .find((part) => part.startsWith(`${sessionCookieName}=`))
      ?.slice(sessionCookieName.length + 1);
    if (!value || value.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
    // A stale or foreign cookie is ignored, not refused: the client may hold one from an earlier session.
    return this.#tokens.verify(Buffer.from(value, 'base64url').toString('utf8'));
  }
}
