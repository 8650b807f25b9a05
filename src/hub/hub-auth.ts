import type { FastifyRequest } from 'fastify';
import type { Identity } from '../auth/authorizer.ts';

/** Who is calling the hub's API, once authenticated. */
export interface Caller {
  identity: Identity;
  ip: string;
  via: 'session' | 'basic' | 'anonymous';
  /** Set for cookie callers: writes must carry `csrfToken` in `x-csrf-token`. */
  session?: { id: string; csrfToken: string };
}

export type RepositoryAction = 'pull' | 'push' | 'delete';

/** Authentication and authorization of the hub's API (docs/api.md); routes call `caller` first. */
export interface HubAuth {
  /**
   * A valid session cookie, else a Basic header (password or robot token, rate limited as the registry's), else
   * anonymous. A bad Basic header is a 401 Fault, a stale cookie only anonymous. Cookie callers' writes
   * (POST/PUT/PATCH/DELETE) must carry the session's CSRF token and a same-origin `Origin` when one is sent.
   */
  caller(request: FastifyRequest): Promise<Caller>;
  /** The actions the caller may take on a repository: every action in auth mode none. */
  actions(caller: Caller, repository: string): RepositoryAction[];
  /** The names the caller may pull, in their order. */
  pullable(caller: Caller, names: string[]): string[];
  /** 401 for anonymous, 403 for others, unless the caller may take `action` on `repository`. */
  require(caller: Caller, repository: string, action: RepositoryAction): void;
  /** Whether the caller administers (`administers` below). */
  isAdmin(caller: Caller): boolean;
  /** 401 for anonymous, 403 for those isAdmin refuses. */
  requireAdmin(caller: Caller): void;
}

/**
 * Who administers the hub: an admin account signed in or by password, never a robot token (a repository
 * credential whatever its account is); with auth mode none (`open`) everyone, as the v2 API lets anyone do anything.
 */
export function administers(identity: Identity, open: boolean): boolean {
  return open || (Boolean(identity.account) && identity.admin && !identity.tokenId);
}
