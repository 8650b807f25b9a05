import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { z } from 'zod';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'DELETE';

/** What a handler sees: the route path without its `/vX.Y` prefix, the negotiated version, decoded params. */
export interface ApiContext {
  method: string;
  path: string;
  version: string;
  params: Record<string, string>;
  query: URLSearchParams;
  req: IncomingMessage;
  /** Aborted when the client goes away before the response is finished. */
  signal: AbortSignal;
  /** The parsed JSON body (undefined when empty); only for routes with `body: 'json'`. */
  body?: unknown;
  /** What the dispatcher parsed with the route's schema; read it through `inputOf`. */
  input?: ParsedInput;
}

/** What a route accepts: its query parameters (query-schema.ts) and its JSON body (go-json.ts). */
export interface RouteSchema {
  query?: z.ZodType;
  body?: z.ZodType;
}

/** The input the dispatcher parsed, tagged with the schema that parsed it so `inputOf` can trust its type. */
export interface ParsedInput {
  schema: RouteSchema;
  query: unknown;
  body: unknown;
}

/** A complete reply, rendered by the dispatcher; `streamed` means the handler wrote `res` itself. */
export type Reply = { status: number; json?: unknown; text?: string; headers?: Record<string, string> } | 'streamed';

export interface Route {
  name: string;
  method: HttpMethod;
  /** `/containers/{id}/json`; `{name*}` matches across slashes (image names), anchored on what follows. */
  path: string;
  /** `json` parses the request body before the handler runs; `raw` leaves `ctx.req` unread (uploads). */
  body?: 'json' | 'raw';
  /** Parsed by the dispatcher before `handle` or `hijack` runs; a refusal never reaches them. */
  schema?: RouteSchema;
  handle(ctx: ApiContext, res: ServerResponse): Promise<Reply>;
  /** Hijacked connections (attach, exec start): the handler owns the socket after this is called. */
  hijack?(ctx: ApiContext, socket: Duplex, head: Buffer): Promise<void>;
}

interface CompiledRoute {
  route: Route;
  pattern: RegExp;
  names: string[];
}

export interface RouteMatch {
  route: Route;
  params: Record<string, string>;
}

/** Routes are data; the first route whose method and pattern match wins, so specific paths come first. */
export class Router {
  #routes: CompiledRoute[];

  constructor(routes: readonly Route[]) {
    this.#routes = routes.map(compile);
  }

  match(method: string, path: string): RouteMatch | undefined {
    for (const { route, pattern, names } of this.#routes) {
      if (route.method !== method && !(method === 'HEAD' && route.method === 'GET')) continue;
      const m = pattern.exec(path);
      if (!m) continue;
      const params: Record<string, string> = {};
      names.forEach((name, i) => (params[name] = safeDecode(m[i + 1])));
      return { route, params };
    }
    return undefined;
  }

  /** Whether any route has this path, for 405-free 404s and HEAD handling. */
  has(path: string): boolean {
    return this.#routes.some(({ pattern }) => pattern.test(path));
  }
}

function compile(route: Route): CompiledRoute {
  const names: string[] = [];
  const source = route.path
    .split(/(\{[a-zA-Z]+\*?\})/)
    .map((part) => {
      const param = /^\{([a-zA-Z]+)(\*?)\}$/.exec(part);
      if (!param) return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      names.push(param[1]);
      return param[2] ? '(.+)' : '([^/]+)';
    })
    .join('');
  return { route, pattern: new RegExp(`^${source}$`), names };
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}
