/**
 * Path patterns of the UI's routes, pure (no DOM, no preact) so node:test covers them. A pattern is segments:
 * literal, `:param` (one segment) or `:param+` (one or more, joined by `/`: repository names hold slashes).
 */
export type Params = Record<string, string>;

interface Segment {
  literal?: string;
  param?: string;
  many?: boolean;
}

function compile(pattern: string): Segment[] {
  return splitPath(pattern).map((part) => {
    if (!part.startsWith(':')) return { literal: part };
    return part.endsWith('+') ? { param: part.slice(1, -1), many: true } : { param: part.slice(1) };
  });
}

/** A path's raw segments: empty ones (a trailing or doubled `/`) add nothing. */
function splitPath(path: string): string[] {
  return path.split('/').filter((part) => part !== '');
}

function decode(part: string): string | null {
  try {
    return decodeURIComponent(part);
  } catch {
    return null;
  }
}

/** Matches segment by segment; a `:param+` takes as many parts as it can and backs off for what follows. */
function matchSegments(segments: Segment[], parts: string[]): Params | null {
  const params: Params = {};
  const from = (at: number, i: number): boolean => {
    if (i === segments.length) return at === parts.length;
    const segment = segments[i];
    if (segment.literal !== undefined) return parts[at] === segment.literal && from(at + 1, i + 1);
    const name = segment.param as string;
    const most = segment.many ? parts.length - at : Math.min(1, parts.length - at);
    for (let count = most; count >= 1; count--) {
      const decoded = parts.slice(at, at + count).map(decode);
      if (decoded.some((part) => part === null)) return false;
      params[name] = decoded.join('/');
      if (from(at + count, i + 1)) return true;
    }
    delete params[name];
    return false;
  };
  return from(0, 0) ? params : null;
}

/** The params when `path` (no query) matches `pattern`, else null. */
export function matchPath(pattern: string, path: string): Params | null {
  return matchSegments(compile(pattern), splitPath(path));
}

/** The first route whose pattern matches, with its params. */
export function firstMatch<T extends { path: string }>(routes: readonly T[], path: string): { route: T; params: Params } | null {
  for (const route of routes) {
    const params = matchPath(route.path, path);
    if (params) return { route, params };
  }
  return null;
}

/** A path from a pattern and its params, each segment percent-encoded (a `:param+` value keeps its slashes). */
export function buildPath(pattern: string, params: Params): string {
  const parts = compile(pattern).map((segment) => {
    if (segment.literal !== undefined) return segment.literal;
    const value = params[segment.param as string];
    if (value === undefined || value === '') throw new Error(`missing route parameter ${segment.param}`);
    return segment.many ? value.split('/').map(encodeURIComponent).join('/') : encodeURIComponent(value);
  });
  return `/${parts.join('/')}${pattern.endsWith('/') ? '/' : ''}`;
}

/** Only same-app paths are followed after sign-in: never another origin (`//evil`, `https:`). */
export function safeNext(next: string | null): string {
  return next && next.startsWith('/ui/') && !next.startsWith('//') && !next.includes('\\') ? next : '/ui/';
}
