import type { FastifyRequest } from 'fastify';
import { Fault } from '../../base/fault.ts';
import type { Caller } from '../hub-auth.ts';
import { sameHex } from './hub-sessions.ts';

const safeMethods = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every write must, when the browser sends an `Origin`, come from this server's own origin (the request's, or
 * `registry.publicUrl`'s behind a proxy), whoever calls: in auth mode none an anonymous caller administers, so
 * another site's page must not. A cookie caller's write must also carry the session's CSRF token in
 * `x-csrf-token`: 403 DENIED otherwise. SameSite=Strict already keeps the cookie off cross-site requests; this
 * holds where it does not, and covers Basic credentials a browser remembers from a /v2/ dialog.
 */
export function checkCsrf(request: FastifyRequest, caller: Caller, publicUrl: string): void {
  if (safeMethods.has(request.method)) return;
  const origin = request.headers.origin;
  if (origin !== undefined && !allowedOrigins(request, publicUrl).includes(origin)) {
    throw new Fault('permission-denied', `cross-origin request from ${origin.slice(0, 200)} refused`);
  }
  if (!caller.session) return;
  const token = request.headers['x-csrf-token'];
  if (typeof token !== 'string' || !sameHex(token, caller.session.csrfToken)) {
    throw new Fault('permission-denied', 'missing or wrong x-csrf-token header');
  }
}

/** The origins a same-site write may come from. */
export function allowedOrigins(request: FastifyRequest, publicUrl: string): string[] {
  const own = `${request.protocol}://${request.host}`;
  if (!publicUrl) return [own];
  try {
    return [own, new URL(publicUrl).origin];
  } catch {
    return [own];
  }
}
