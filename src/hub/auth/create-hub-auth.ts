import type { FastifyRequest } from 'fastify';
import type { AclContext } from '../../auth/acl.ts';
import type { AuthServices } from '../../auth/create-authorizer.ts';
import type { Config } from '../../base/config.ts';
import { Fault } from '../../base/fault.ts';
import type { SessionStore } from '../../meta/session-store.ts';
import { administers, type Caller, type HubAuth, type RepositoryAction } from '../hub-auth.ts';
import { checkCsrf } from './csrf.ts';
import { HubSessions, rateLimited } from './hub-sessions.ts';
import { secureCookies, sessionCookieOf } from './session-cookie.ts';

export interface CreateHubAuthOptions {
  config: Config;
  authServices: Pick<AuthServices, 'accounts' | 'acl'>;
  sessions: SessionStore;
  /** Milliseconds since the epoch; the wall clock by default. */
  now?: () => number;
}

const repositoryActions: readonly RepositoryAction[] = ['pull', 'push', 'delete'];

/**
 * The hub's HubAuth over the registry's own accounts and compiled ACL: a session cookie, else Basic (a password or a
 * robot token, rate limited as docker login), else anonymous. Auth mode none makes every caller an admin, as the v2
 * API lets anyone do anything there.
 */
export function createHubAuth(options: CreateHubAuthOptions): HubAuth {
  const { config } = options;
  const { accounts, acl } = options.authServices;
  const sessions = new HubSessions({ accounts, sessions: options.sessions, ttlSeconds: config.hub.sessionTtlSeconds, now: options.now });
  const open = config.auth.mode === 'none';
  const context = (caller: Caller): AclContext => ({ identity: caller.identity, ip: caller.ip, anonymousPull: config.auth.anonymousPull });
  const actions = (caller: Caller, repository: string): RepositoryAction[] => {
    if (open) return [...repositoryActions];
    if (!caller.identity.account && !config.auth.anonymousPull) return [];
    const allowed = acl.allowedActions(context(caller), { type: 'repository', name: repository });
    return repositoryActions.filter((action) => allowed.includes(action));
  };
  const deny = (caller: Caller, message: string) => new Fault(caller.identity.account || open ? 'permission-denied' : 'unauthenticated', message);
  return {
    caller: async (request) => {
      const caller = await identify(request, sessions, accounts, open, secureCookies(request, config.registry.publicUrl));
      checkCsrf(request, caller, config.registry.publicUrl);
      return open ? { ...caller, identity: { ...caller.identity, admin: true } } : caller;
    },
    actions,
    pullable: (caller, names) => (open ? [...names] : names.filter((name) => actions(caller, name).includes('pull'))),
    require: (caller, repository, action) => {
      if (!actions(caller, repository).includes(action)) throw deny(caller, `${action} on ${repository} is not allowed`);
    },
    isAdmin: (caller) => administers(caller.identity, open),
    requireAdmin: (caller) => {
      if (administers(caller.identity, open)) return;
      throw deny(caller, caller.identity.account ? 'administrators only' : 'sign in as an administrator');
    },
  };
}

async function identify(request: FastifyRequest, sessions: HubSessions, accounts: AuthServices['accounts'], open: boolean, secure: boolean): Promise<Caller> {
  const ip = request.ip;
  const cookie = sessionCookieOf(request, secure);
  const session = cookie === undefined ? undefined : await sessions.resolve(cookie);
  if (session) return { identity: session.identity, ip, via: 'session', session: { id: session.id, csrfToken: session.csrfToken } };
  const anonymous: Caller = { identity: { admin: false }, ip, via: 'anonymous' };
  // Mode none ignores credentials, as its v2 API does.
  if (open) return anonymous;
  const result = await accounts.authenticateBasic(request.headers.authorization, ip);
  if (result.ok) return { identity: result.principal.identity, ip, via: 'basic' };
  if (result.reason === 'missing') return anonymous;
  if (result.reason === 'rate-limited') throw rateLimited(result.retryAfter);
  throw new Fault('unauthenticated', result.reason === 'malformed' ? 'the Authorization header is not Basic credentials' : 'incorrect username or password');
}
