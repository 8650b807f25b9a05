import type { ApiErrorBody } from '../api-types.ts';

/** An error answer of /api/v1, from its envelope (`{errors:[{code,message}]}`). */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;

  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

export type Query = Record<string, string | number | null | undefined>;

export interface Api {
  get<T>(path: string, query?: Query): Promise<T>;
  /** A write (POST/PUT/PATCH/DELETE) with the session's CSRF token; a 204 resolves to undefined. */
  send<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, query?: Query): Promise<T>;
  /** The raw response of a GET (for text bodies such as build logs); errors are thrown as for `get`. */
  raw(path: string, query?: Query): Promise<Response>;
  /** The same client whose requests end when `signal` aborts (a page left, a newer search typed). */
  abortable(signal: AbortSignal): Api;
}

export interface ApiOptions {
  csrfToken: () => string | null;
  /** Called on a 401 (the session ended or anonymous browsing is off): the app goes to the sign-in page. */
  onUnauthorized: () => void;
  signal?: AbortSignal;
}

/** `/api/v1/tags?repository=a%2Fb`: empty and null query values are left out. */
export function apiUrl(path: string, query: Query = {}): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
  const text = search.toString();
  return `/api/v1${path}${text ? `?${text}` : ''}`;
}

async function errorOf(response: Response): Promise<ApiError> {
  let first: ApiErrorBody['errors'][number] | undefined;
  try {
    first = ((await response.json()) as ApiErrorBody).errors?.[0];
  } catch {
    // Not the envelope (a proxy's page): the status says enough.
  }
  return new ApiError(response.status, first?.code ?? `HTTP_${response.status}`, first?.message ?? `${response.status} ${response.statusText}`);
}

/** The browser's client of /api/v1: same-origin cookies, CSRF header on writes, the error envelope parsed. */
export function createApi(options: ApiOptions): Api {
  const call = async (method: string, path: string, body: unknown, query: Query | undefined): Promise<Response> => {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = options.csrfToken();
    if (method !== 'GET' && token) headers['x-csrf-token'] = token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(apiUrl(path, query), {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: options.signal,
    });
    if (response.ok) return response;
    if (response.status === 401) options.onUnauthorized();
    throw await errorOf(response);
  };
  return {
    get: async <T>(path: string, query?: Query) => (await (await call('GET', path, undefined, query)).json()) as T,
    send: async <T>(method: string, path: string, body?: unknown, query?: Query) => {
      const response = await call(method, path, body, query);
      return (response.status === 204 ? undefined : await response.json()) as T;
    },
    raw: (path: string, query?: Query) => call('GET', path, undefined, query),
    abortable: (signal: AbortSignal) => createApi({ ...options, signal }),
  };
}

/** Whether a rejection is only an aborted request (a page left, a newer search): never shown as an error. */
export function isAbort(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'AbortError';
}
