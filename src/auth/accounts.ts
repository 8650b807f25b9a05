import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { statSync } from 'node:fs';
import bcrypt from 'bcryptjs';
import type { Logger } from '../base/log.ts';
import type { UserStore } from '../meta/user-store.ts';
import type { Access, Identity } from './authorizer.ts';
import { parseAuthorization } from './credentials.ts';
import { readHtpasswd } from './htpasswd.ts';
import type { LoginLimiter } from './login-limiter.ts';
import { parseScopes } from './scope.ts';

export interface Principal {
  identity: Identity;
  /** A robot token's scopes: the most it may ever be granted (the same as `identity.scopes`). */
  limit?: Access[];
}

export type LoginResult =
  | { ok: true; principal: Principal }
  | { ok: false; reason: 'invalid' }
  | { ok: false; reason: 'rate-limited'; retryAfter: number };

/** A principal re-read from the stores, with the secret material its refresh tokens are bound to. */
export interface CurrentPrincipal {
  principal: Principal;
  /** The password hash or robot-token hash now on record: a refresh token minted under another one is void. */
  credential: string;
}

/** Robot and CI tokens are used as passwords: `wharf_<16 hex id>_<secret>`. */
export const accessTokenPrefix = 'wharf_';
const accessTokenPattern = /^wharf_([a-f0-9]{16})_([A-Za-z0-9_-]{20,128})$/;

export const bcryptCost = 10;
const maxNameLength = 255;

/** The limiter's key of an account; a NUL (no real name has one, PostgreSQL text refuses it) is spelled out. */
function accountKey(username: string): string {
  return `account:${username.slice(0, maxNameLength).replaceAll('\0', '\\0')}`;
}
const maxPasswordLength = 1024;
const defaultCacheTtlMs = 60_000;
const maxCacheEntries = 10_000;
// Compared against when the user does not exist, so a miss costs what a hit costs (no user enumeration by timing).
const dummyHash = '$2b$10$t9XhiomhV6FSEu2GzXkNoOzD/FkRiErz.aqPbQcH0C3lHgD8SfcWe';

export function hashPassword(password: string): Promise<string> {
  return bcrypt.hash(password, bcryptCost);
}

/** A fresh robot token: the password to show once, and the record fields to store. */
export function newAccessToken(): { id: string; password: string; secretHash: string } {
  const id = randomBytes(8).toString('hex');
  const secret = randomBytes(24).toString('base64url');
  return { id, password: `${accessTokenPrefix}${id}_${secret}`, secretHash: sha256(secret) };
}

export interface AccountsOptions {
  users: UserStore;
  /** htpasswd file; re-read when its mtime changes. Its entries win over the user store (see #lookup). */
  htpasswd?: string;
  limiter: LoginLimiter;
  now?: () => number;
  logger?: Logger;
  cacheTtlMs?: number;
}

/**
 * Checks passwords against an optional htpasswd file, the user store and robot tokens, with per-account and
 * per-address rate limiting. bcrypt is deliberately slow and a docker push makes dozens of requests, so a
 * verified password is remembered briefly, keyed by an HMAC (per-process key) of the name, the stored hash and the
 * password: a password change or a deleted user takes effect at once, and memory never holds a fast hash of a
 * password. Concurrent checks of the same credentials share one bcrypt run.
 */
export class Accounts {
  readonly users: UserStore;
  readonly #htpasswdPath: string;
  #htpasswd = new Map<string, string>();
  #htpasswdVersion = '';
  readonly #limiter: LoginLimiter;
  readonly #now: () => number;
  readonly #logger: Logger | undefined;
  readonly #cacheTtlMs: number;
  readonly #cacheKey = randomBytes(32);
  readonly #verified = new Map<string, number>();
  readonly #inflight = new Map<string, Promise<boolean>>();

  constructor(options: AccountsOptions) {
    this.users = options.users;
    this.#htpasswdPath = options.htpasswd ?? '';
    this.#limiter = options.limiter;
    this.#now = options.now ?? Date.now;
    this.#logger = options.logger;
    this.#cacheTtlMs = options.cacheTtlMs ?? defaultCacheTtlMs;
  }

  async login(username: string, password: string, ip: string): Promise<LoginResult> {
    const retryAfter = Math.max(...(await Promise.all([this.#limiter.retryAfter(accountKey(username)), this.#limiter.retryAfter(`ip:${ip}`)])));
    if (retryAfter > 0) {
      this.#logger?.warn({ account: username.slice(0, 100), ip, retryAfter }, 'login refused: too many failures');
      return { ok: false, reason: 'rate-limited', retryAfter };
    }
    const principal = await this.#verify(username, password);
    if (!principal) {
      await Promise.all([this.#limiter.fail(accountKey(username)), this.#limiter.fail(`ip:${ip}`)]);
      this.#logger?.info({ account: username.slice(0, 100), ip }, 'login failed');
      return { ok: false, reason: 'invalid' };
    }
    // The address's counter stays: a valid account must not launder guesses at other accounts.
    await this.#limiter.succeed(accountKey(username));
    return { ok: true, principal };
  }

  /**
   * `Authorization: Basic …` checked in one call (the v1 routes use it). `missing` when no header was sent,
   * `malformed` when it is not Basic user:password.
   */
  async authenticateBasic(authorization: string | undefined, ip: string): Promise<LoginResult | { ok: false; reason: 'missing' | 'malformed' }> {
    const credentials = parseAuthorization(authorization);
    if (credentials.kind === 'none') return { ok: false, reason: 'missing' };
    if (credentials.kind !== 'basic') return { ok: false, reason: 'malformed' };
    return this.login(credentials.username, credentials.password, ip);
  }

  /** The identity behind a name whose credentials were checked earlier (token subjects); undefined when disabled or gone. */
  async identityOf(username: string): Promise<Identity | undefined> {
    return (await this.#lookup(username))?.principal.identity;
  }

  /**
   * True when the htpasswd file (auth.htpasswd) holds the name: its password and role are the file's, so changing a
   * store row of the same name would change nothing (the API and CLI refuse to).
   */
  inHtpasswd(username: string): boolean {
    return this.#htpasswdEntries().has(username);
  }

  /** True when the name is held by the htpasswd file or the user store, disabled or not (sign-up must refuse it). */
  async nameTaken(username: string): Promise<boolean> {
    return this.#htpasswdEntries().has(username) || (await this.users.getUser(username)) !== undefined;
  }

  /** Re-reads a principal for a refresh: undefined once the user is gone or disabled, or the robot token revoked. */
  async current(username: string, tokenId?: string): Promise<CurrentPrincipal | undefined> {
    if (tokenId) {
      const token = await this.users.getToken(tokenId);
      if (!token || token.revokedAt || token.user !== username) return undefined;
      const user = await this.users.getUser(username);
      if (!user || user.disabled) return undefined;
      return { principal: robotPrincipal(user, token.id, token.scopes), credential: token.secretHash };
    }
    const found = await this.#lookup(username);
    return found && { principal: found.principal, credential: found.hash };
  }

  async #verify(username: string, password: string): Promise<Principal | undefined> {
    // No account name holds a NUL (PostgreSQL text cannot): such a name is nobody, without asking the store.
    if (!username || username.includes('\0') || username.length > maxNameLength || password.length > maxPasswordLength) return undefined;
    if (password.startsWith(accessTokenPrefix)) {
      const robot = await this.#verifyAccessToken(username, password);
      if (robot) return robot;
    }
    const found = await this.#lookup(username);
    if (!found) {
      await bcrypt.compare(password, dummyHash);
      return undefined;
    }
    return (await this.#bcryptCached(username, password, found.hash)) ? found.principal : undefined;
  }

  /**
   * The htpasswd file wins over the user store: it is what the operator configured for this mode, and a name in
   * it must not be taken over by an account of the same name created later (v1 sign-up, `wharf user add`). A
   * disabled user is nobody here (the dummy hash is compared instead, so it costs what a check costs), even one the
   * file holds: a store row's `disabled` flag is the one switch that reaches a file account too.
   */
  async #lookup(username: string): Promise<{ hash: string; principal: Principal } | undefined> {
    const file = this.#htpasswdEntries().get(username);
    const user = await this.users.getUser(username);
    if (user?.disabled) return undefined;
    if (file) return { hash: file, principal: { identity: { account: username, admin: false } } };
    return user && { hash: user.passwordHash, principal: { identity: { account: user.name, admin: user.admin } } };
  }

  async #bcryptCached(username: string, password: string, hash: string): Promise<boolean> {
    const key = createHmac('sha256', this.#cacheKey).update(`${username}\0${hash}\0${password}`).digest('base64url');
    const until = this.#verified.get(key);
    if (until !== undefined && until > this.#now()) return true;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = bcrypt.compare(password, hash).catch(() => false);
      this.#inflight.set(key, pending);
      void pending.finally(() => this.#inflight.delete(key));
    }
    const ok = await pending;
    if (ok) {
      if (this.#verified.size >= maxCacheEntries) this.#verified.clear();
      this.#verified.set(key, this.#now() + this.#cacheTtlMs);
    }
    return ok;
  }

  /** Robot tokens are random, so one sha256 is enough; no cache, so a revocation takes effect at once. */
  async #verifyAccessToken(username: string, password: string): Promise<Principal | undefined> {
    const match = accessTokenPattern.exec(password);
    if (!match) return undefined;
    const token = await this.users.getToken(match[1]);
    if (!token || token.revokedAt || token.user !== username) return undefined;
    const stored = Buffer.from(token.secretHash, 'hex');
    const presented = Buffer.from(sha256(match[2]), 'hex');
    if (stored.length !== presented.length || !timingSafeEqual(presented, stored)) return undefined;
    const user = await this.users.getUser(username);
    return user && !user.disabled ? robotPrincipal(user, token.id, token.scopes) : undefined;
  }

  /** Re-read when the file's mtime, ctime (a chmod) or size changes; an absent file holds nobody. */
  #htpasswdEntries(): Map<string, string> {
    if (!this.#htpasswdPath) return this.#htpasswd;
    const stat = statSync(this.#htpasswdPath, { throwIfNoEntry: false });
    const version = stat ? `${stat.mtimeMs}:${stat.ctimeMs}:${stat.size}` : 'absent';
    if (version !== this.#htpasswdVersion) {
      const file = stat ? this.#readHtpasswd() : { entries: new Map<string, string>(), ignored: [] };
      if (file.ignored.length) this.#logger?.warn({ file: this.#htpasswdPath, users: file.ignored }, 'htpasswd entries without a bcrypt hash are ignored (use htpasswd -B)');
      if (!stat) this.#logger?.warn({ file: this.#htpasswdPath }, 'htpasswd file not found');
      this.#htpasswd = file.entries;
      this.#htpasswdVersion = version;
    }
    return this.#htpasswd;
  }

  /** An unreadable file lets nobody in through it (fail closed) rather than failing every request. */
  #readHtpasswd(): { entries: Map<string, string>; ignored: string[] } {
    try {
      return readHtpasswd(this.#htpasswdPath);
    } catch (err) {
      this.#logger?.error({ file: this.#htpasswdPath, err }, 'htpasswd file unreadable');
      return { entries: new Map(), ignored: [] };
    }
  }
}

/** The identity carries the scopes too, so every ACL check (v2, v1, token server) is capped by them. */
function robotPrincipal(user: { name: string; admin: boolean }, tokenId: string, scopes: string[]): Principal {
  let limit: Access[] = [];
  try {
    limit = parseScopes(scopes, { namePatterns: true });
  } catch {
    // A stored scope that no longer parses grants nothing rather than failing every request.
  }
  return { identity: { account: user.name, admin: user.admin, tokenId, scopes: limit }, limit };
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
