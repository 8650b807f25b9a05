import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Accounts } from '../../auth/accounts.ts';
import type { Identity } from '../../auth/authorizer.ts';
import { Fault } from '../../base/fault.ts';
import type { SessionStore } from '../../meta/session-store.ts';

export interface HubSessionsOptions {
  accounts: Accounts;
  sessions: SessionStore;
  ttlSeconds: number;
  now?: () => number;
}

/** A session as the API sees it: the cookie's value exists only in `start`'s answer. */
export interface ActiveSession {
  id: string;
  csrfToken: string;
  identity: Identity;
}

// A session's last-seen is written at most this often: a page load makes many API requests.
const touchIntervalMs = 60_000;
const cookiePattern = /^[A-Za-z0-9_-]{43}$/;
/** Sessions a user keeps (browsers, devices); a sign-in beyond ends the oldest, so sign-ins cannot grow the table. */
export const maxSessionsPerUser = 20;

/**
 * The hub's browser sessions: signing in with a password (through Accounts.login, so with docker login's rate
 * limit and failure counting), resolving a cookie to a live account, signing out. A session is bound to the
 * password hash it was made under and re-checked against the account on every use, so a new password, a disabled
 * or deleted account ends it at once, on every replica.
 */
export class HubSessions {
  readonly #accounts: Accounts;
  readonly #sessions: SessionStore;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(options: HubSessionsOptions) {
    this.#accounts = options.accounts;
    this.#sessions = options.sessions;
    this.#ttlMs = options.ttlSeconds * 1000;
    this.#now = options.now ?? Date.now;
  }

  get ttlSeconds(): number {
    return this.#ttlMs / 1000;
  }

  /** Checks the password and opens a session: 401 bad credentials, 429 (detail.retryAfter) rate limited, 403 a robot token. */
  async start(username: string, password: string, ip: string): Promise<ActiveSession & { cookie: string }> {
    const result = await this.#accounts.login(username, password, ip);
    if (!result.ok && result.reason === 'rate-limited') throw rateLimited(result.retryAfter);
    if (!result.ok) throw new Fault('unauthenticated', 'incorrect username or password');
    if (result.principal.identity.tokenId) throw new Fault('permission-denied', 'robot tokens are for registry clients and cannot sign in to the UI');
    const current = await this.#accounts.current(username);
    if (!current) throw new Fault('unauthenticated', 'incorrect username or password');
    const now = this.#now();
    await this.#sessions.deleteExpired(new Date(now).toISOString());
    const cookie = randomBytes(32).toString('base64url');
    const csrfToken = randomBytes(32).toString('base64url');
    await this.#sessions.create({
      idHash: sha256(cookie),
      user: username,
      credential: sha256(current.credential),
      csrfToken,
      createdAt: new Date(now).toISOString(),
      expiresAt: new Date(now + this.#ttlMs).toISOString(),
      lastSeenAt: new Date(now).toISOString(),
    });
    await this.#sessions.keepNewest(username, maxSessionsPerUser);
    return { id: sha256(cookie), csrfToken, identity: current.principal.identity, cookie };
  }

  /** The live session behind a cookie's value, else undefined (and a dead one is removed). */
  async resolve(cookie: string): Promise<ActiveSession | undefined> {
    if (!cookiePattern.test(cookie)) return undefined;
    const id = sha256(cookie);
    const session = await this.#sessions.get(id);
    if (!session) return undefined;
    const now = this.#now();
    const current = Date.parse(session.expiresAt) > now ? await this.#accounts.current(session.user) : undefined;
    if (!current || !sameHex(sha256(current.credential), session.credential)) {
      await this.#sessions.delete(id);
      return undefined;
    }
    if (now - Date.parse(session.lastSeenAt) >= touchIntervalMs) await this.#sessions.touch(id, new Date(now).toISOString());
    return { id, csrfToken: session.csrfToken, identity: current.principal.identity };
  }

  async end(id: string): Promise<void> {
    await this.#sessions.delete(id);
  }

  /** Ends every session of a user (an admin disabled them or set their password). */
  async endAll(user: string): Promise<void> {
    await this.#sessions.deleteUser(user);
  }
}

/** Too many failed sign-ins: the API answers 429 with Retry-After (api-errors.ts reads `detail.retryAfter`). */
export function rateLimited(retryAfter: number): Fault {
  return new Fault('unavailable', 'too many failed sign-ins: try again later', { code: 'TOOMANYREQUESTS', detail: { retryAfter } });
}

export function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Constant-time equality of two strings (tokens, hashes). */
export function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
