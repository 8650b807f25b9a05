import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type IndexAccess = 'read' | 'write' | 'delete';

export interface IndexGrant {
  /** undefined for an anonymous caller's read token. */
  account?: string;
  repository: string;
  access: IndexAccess;
}

const defaultTtlSeconds = 600;

/**
 * The legacy index's `X-Docker-Token` (docker 1.x): `signature=…,repository="ns/repo",access=write`, which the
 * client echoes as `Authorization: Token <value>` to the registry endpoints. Stateless: the signature is an HMAC
 * over account, repository, access and expiry, so nothing accumulates in memory and a forged or altered field
 * fails. The key is the metadata backend's (createAuthServices: SecretStore `v1-index-token`), so a token one
 * replica issued holds on another and across a restart; a random one of this instance when none is given.
 * Decide *whether* to issue with the ACL first (acl.ts `grant`); this only remembers the decision for ten minutes.
 */
export class IndexTokens {
  readonly #key: Buffer;
  readonly #ttlSeconds: number;
  readonly #now: () => number;

  constructor(options: { key?: Buffer; ttlSeconds?: number; now?: () => number } = {}) {
    this.#key = options.key ?? randomBytes(32);
    this.#ttlSeconds = options.ttlSeconds ?? defaultTtlSeconds;
    this.#now = options.now ?? Date.now;
  }

  /** The X-Docker-Token header value. */
  issue(grant: IndexGrant): string {
    const expires = Math.floor(this.#now() / 1000) + this.#ttlSeconds;
    const account = Buffer.from(grant.account ?? '').toString('base64url');
    const mac = this.#mac(expires, account, grant.repository, grant.access);
    return `signature=${expires.toString(16)}.${account}.${mac},repository="${grant.repository}",access=${grant.access}`;
  }

  /** The grant behind `Token signature=…` (or the bare value); undefined when forged, altered or expired. */
  verify(authorization: string | undefined): IndexGrant | undefined {
    if (!authorization || authorization.length > 2048) return undefined;
    const value = authorization.replace(/^Token\s+/i, '');
    const signature = /(?:^|[\s,])signature=([0-9a-f]{1,12})\.([A-Za-z0-9_-]*)\.([A-Za-z0-9_-]{43})(?=,|\s|$)/.exec(value);
    const repository = /(?:^|[\s,])repository="([^"]{1,255})"/.exec(value)?.[1];
    const access = /(?:^|[\s,])access=(read|write|delete)(?=,|\s|$)/.exec(value)?.[1] as IndexAccess | undefined;
    if (!signature || !repository || !access) return undefined;
    const [, expiresHex, account, mac] = signature;
    const expires = Number.parseInt(expiresHex, 16);
    const want = Buffer.from(this.#mac(expires, account, repository, access));
    const got = Buffer.from(mac);
    if (want.length !== got.length || !timingSafeEqual(want, got)) return undefined;
    if (expires * 1000 < this.#now()) return undefined;
    const name = Buffer.from(account, 'base64url').toString('utf8');
    return { account: name || undefined, repository, access };
  }

  /** Whether a grant allows an action: write and delete tokens also read, as the index meant them to. */
  static allows(grant: IndexGrant, repository: string, action: 'pull' | 'push' | 'delete'): boolean {
    if (grant.repository !== repository) return false;
    if (action === 'pull') return true;
    return grant.access === (action === 'push' ? 'write' : 'delete');
  }

  #mac(expires: number, account: string, repository: string, access: string): string {
    return createHmac('sha256', this.#key).update(`${expires}\n${account}\n${repository}\n${access}`).digest('base64url');
  }
}
