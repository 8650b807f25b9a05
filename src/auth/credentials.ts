export type Credentials =
  | { kind: 'none' }
  | { kind: 'basic'; username: string; password: string }
  | { kind: 'bearer'; token: string }
  | { kind: 'malformed'; reason: string };

const maxHeaderLength = 8192;

/** Parses an `Authorization` header without ever throwing: malformed input is a value, answered with 401. */
export function parseAuthorization(header: string | undefined): Credentials {
  if (!header) return { kind: 'none' };
  if (header.length > maxHeaderLength) return { kind: 'malformed', reason: 'authorization header too long' };
  const space = header.indexOf(' ');
  const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
  const value = space < 0 ? '' : header.slice(space + 1).trim();
  if (scheme === 'bearer') return value ? { kind: 'bearer', token: value } : { kind: 'malformed', reason: 'empty bearer token' };
  if (scheme !== 'basic') return { kind: 'malformed', reason: `unsupported authorization scheme` };
  if (!/^[A-Za-z0-9+/]+=*$/.test(value)) return { kind: 'malformed', reason: 'basic credentials are not base64' };
  const decoded = Buffer.from(value, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) return { kind: 'malformed', reason: 'basic credentials lack user:password' };
  return { kind: 'basic', username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
