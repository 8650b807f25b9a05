import type { FastifyRequest } from 'fastify';

/** The hub's session cookie over plain http (docs/api.md "Sessions and accounts"). */
export const sessionCookieName = 'wharf_session';
/**
 * Its name over https: the `__Host-` prefix makes the browser refuse the cookie unless it is Secure, host-only and
 * Path=/, so a sibling subdomain cannot plant one (cookie tossing) for this host to read.
 */
export const secureSessionCookieName = `__Host-${sessionCookieName}`;

/**
 * Whether the browser reached this server over https: the request came over TLS, or `registry.publicUrl` says so
 * (a TLS-terminating proxy in front forwards plain http).
 */
export function secureCookies(request: FastifyRequest, publicUrl: string): boolean {
  return request.protocol === 'https' || publicUrl.toLowerCase().startsWith('https:');
}

/**
 * The session cookie's value in a request, if any: only the name that applies (over https a plain `wharf_session`
 * may have been tossed by another host), the first one (browsers send the most specific path first).
 */
export function sessionCookieOf(request: FastifyRequest, secure: boolean): string | undefined {
  const header = request.headers.cookie;
  if (!header) return undefined;
  const name = secure ? secureSessionCookieName : sessionCookieName;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a new session; Secure (and `__Host-`) when the browser talks https: on http it would be dropped. */
export function sessionCookie(value: string, maxAgeSeconds: number, secure: boolean): string {
  const name = secure ? secureSessionCookieName : sessionCookieName;
  return `${name}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
}

/** Set-Cookie that makes the browser forget the session. */
export function clearedSessionCookie(secure: boolean): string {
  return sessionCookie('', 0, secure);
}
