import { Fault } from '../base/fault.ts';
import { readBody, sendRequest } from './http-request.ts';
import type { SearchResult } from '../oci/v1-search.ts';
import type { RegistryAuth, RegistryClient } from './registry-client.ts';

export type { SearchResult };

/**
 * `docker search TERM` as moby splits it (registry.SplitReposSearchTerm): `host/term` asks that index when the
 * first part looks like a host (a dot, a port or localhost), anything else asks Docker Hub's index.
 */
export function splitSearchTerm(term: string): { index: string; query: string } {
  const slash = term.indexOf('/');
  if (slash > 0) {
    const first = term.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') return { index: first, query: term.slice(slash + 1) };
  }
  return { index: 'index.docker.io', query: term };
}

/** GET /v1/search on the index (the 2014 API that every registry offering search still speaks). */
export async function searchIndex(client: RegistryClient, term: string, options: { limit?: number; auth?: RegistryAuth; signal?: AbortSignal } = {}): Promise<SearchResult[]> {
  const { index, query } = splitSearchTerm(term);
  const endpoint = await client.endpoint(index);
  const url = new URL('/v1/search', endpoint.base);
  url.searchParams.set('q', query);
  if (options.limit) url.searchParams.set('n', String(options.limit));
  const headers: Record<string, string> = { 'user-agent': client.userAgent };
  const { username, password } = options.auth ?? {};
  if (username !== undefined) headers.authorization = `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}`;
  const res = await sendRequest(url, { headers, ca: endpoint.ca, insecureTls: endpoint.insecureTls, signal: options.signal });
  const body = await readBody(res, 4 * 1024 * 1024);
  if (res.statusCode === 401 || res.statusCode === 403) throw new Fault('unauthenticated', `unauthorized: searching ${index} requires docker login`);
  if (res.statusCode !== 200) throw new Fault('unavailable', `Unexpected status code ${res.statusCode} from ${index}`);
  let parsed: { results?: Partial<SearchResult>[] };
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw new Fault('unavailable', `${index} answered /v1/search with something that is not JSON`);
  }
  return (parsed.results ?? []).map((r) => ({
    name: String(r.name ?? ''),
    description: String(r.description ?? ''),
    star_count: Number(r.star_count ?? 0),
    is_official: Boolean(r.is_official),
    is_automated: Boolean(r.is_automated),
  }));
}
