import type { Config } from '../base/config.ts';
import type { Acl } from './acl.ts';
import type { Accounts } from './accounts.ts';
import type { Access, AuthDecision, AuthRequest, Authorizer, Identity } from './authorizer.ts';
import { parseAuthorization } from './credentials.ts';
import { denied, rateLimited, unauthorized } from './decisions.ts';
import { covers } from './scope.ts';

/**
 * Auth mode `htpasswd`: HTTP Basic on every request against the htpasswd file, wharf's users and robot tokens,
 * then the ACL. Without credentials a caller is anonymous (anonymousPull), except on the `/v2/` base check, which
 * must challenge so that clients learn to send credentials.
 */
export class HtpasswdAuthorizer implements Authorizer {
  readonly mode = 'htpasswd' as const;
  readonly #accounts: Accounts;
  readonly #acl: Acl;
  readonly #config: Config;

  constructor(options: { accounts: Accounts; acl: Acl; config: Config }) {
    this.#accounts = options.accounts;
    this.#acl = options.acl;
    this.#config = options.config;
  }

  async authorize(request: AuthRequest, needs: Access[]): Promise<AuthDecision> {
    const challenge = `Basic realm="${this.#config.auth.realm.replaceAll('"', '')}"`;
    const credentials = parseAuthorization(request.authorization);
    let identity: Identity = { admin: false };
    if (credentials.kind === 'basic') {
      const login = await this.#accounts.login(credentials.username, credentials.password, request.ip);
      if (!login.ok) return login.reason === 'rate-limited' ? rateLimited(login.retryAfter) : unauthorized(challenge, needs, 'invalid username or password');
      identity = login.principal.identity;
    } else if (credentials.kind !== 'none') {
      return unauthorized(challenge, needs, credentials.kind === 'malformed' ? credentials.reason : 'Basic credentials required');
    } else if (needs.length === 0) {
      return unauthorized(challenge, needs);
    }
    const granted = this.#acl.grant(this.#context(identity, request.ip), needs);
    if (covers(granted, needs)) return { allowed: true, identity, granted };
    return identity.account ? denied(needs) : unauthorized(challenge, needs);
  }

  async filterPullable(identity: Identity, names: string[], ip: string): Promise<string[]> {
    return this.#acl.pullable(this.#context(identity, ip), names);
  }

  #context(identity: Identity, ip: string) {
    return { identity, ip, anonymousPull: this.#config.auth.anonymousPull };
  }
}
