import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Identity } from '../../auth/authorizer.ts';
import { Fault } from '../../base/fault.ts';
import type { SessionInfo } from '../../web/api-types.ts';
import { allowedOrigins } from '../auth/csrf.ts';
import { HubSessions } from '../auth/hub-sessions.ts';
import { clearedSessionCookie, secureCookies, sessionCookie, sessionCookieOf } from '../auth/session-cookie.ts';
import { administers } from '../hub-auth.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

const signInBody = z.strictObject({
  username: z.string().min(1).max(255),
  password: z.string().min(1).max(1024),
});

/**
 * GET /api/v1/session (who am I), POST (sign in with a password: a session cookie and its CSRF token; rate limited
 * as docker login), DELETE (sign out) — docs/api.md "Sessions and accounts".
 */
export function registerSessionRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'authServices' | 'config' | 'stores'>): void {
  const sessions = new HubSessions({ accounts: deps.authServices.accounts, sessions: deps.stores.sessions, ttlSeconds: deps.config.hub.sessionTtlSeconds });
  const info = (identity: Identity, csrfToken: string | null) => sessionInfo(deps.config, identity, csrfToken);

  // no-store: the answer holds the CSRF token.
  api.get('/session', async (request, reply): Promise<SessionInfo> => {
    const caller = await deps.auth.caller(request);
    reply.header('cache-control', 'no-store');
    return info(caller.identity, caller.session?.csrfToken ?? null);
  });

  api.post('/session', async (request, reply) => {
    refuseCrossOrigin(request, deps.config.registry.publicUrl);
    const body = parseInput(signInBody, request.body, 'body');
    const session = await sessions.start(body.username, body.password, request.ip);
    const secure = secureCookies(request, deps.config.registry.publicUrl);
    // The cookie the browser had (if any) is replaced: its session ends rather than lingering until it expires.
    const previous = sessionCookieOf(request, secure);
    const old = previous === undefined ? undefined : await sessions.resolve(previous);
    if (old) await sessions.end(old.id);
    reply.header('set-cookie', sessionCookie(session.cookie, sessions.ttlSeconds, secure));
    reply.header('cache-control', 'no-store');
    return info(session.identity, session.csrfToken);
  });

  api.delete('/session', async (request, reply) => {
    const caller = await deps.auth.caller(request);
    if (caller.session) await sessions.end(caller.session.id);
    return reply.code(204).header('set-cookie', clearedSessionCookie(secureCookies(request, deps.config.registry.publicUrl))).send();
  });
}

/** What GET /api/v1/session answers for a caller (the UI's page carries the same, src/hub/static-ui.ts). */
export function sessionInfo(config: Pick<HubDeps['config'], 'auth'>, identity: Identity, csrfToken: string | null): SessionInfo {
  return {
    user: identity.account ? { name: identity.account, admin: administers(identity, config.auth.mode === 'none') } : null,
    csrfToken,
    authMode: config.auth.mode,
    anonymousBrowse: config.auth.mode === 'none' || config.auth.anonymousPull,
  };
}

/** Sign-in from another site's page (login CSRF) is refused when the browser says where it comes from. */
function refuseCrossOrigin(request: FastifyRequest, publicUrl: string): void {
  const origin = request.headers.origin;
  if (origin !== undefined && !allowedOrigins(request, publicUrl).includes(origin)) {
    throw new Fault('permission-denied', `cross-origin sign-in from ${origin.slice(0, 200)} refused`);
  }
}
