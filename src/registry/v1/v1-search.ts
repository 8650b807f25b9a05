import { Fault } from '../../base/fault.ts';
import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { SearchPage, SearchResult } from '../../oci/v1-search.ts';

export type { SearchPage, SearchResult };


export const maxSearchPageSize = 100;
const defaultPageSize = 25;

/** `n` and `page` as positive integers (defaults 25 and 1, n capped at 100); anything else is 400. */
export function parseSearchQuery(query: Record<string, string | undefined>): { q: string; n: number; page: number } {
  const positive = (value: string | undefined, fallback: number, name: string) => {
    if (value === undefined || value === '') return fallback;
    if (!/^\d{1,9}$/.test(value) || Number(value) < 1) throw new Fault('invalid-argument', `${name} must be a positive integer`);
    return Number(value);
  };
  const q = query.q ?? '';
  if (q.length > 255) throw new Fault('invalid-argument', 'the search term is longer than 255 characters');
  return { q, n: Math.min(positive(query.n, defaultPageSize, 'n'), maxSearchPageSize), page: positive(query.page, 1, 'page') };
}

/**
 * How well a repository matches the term, lower is better; undefined when it does not. Name matches come first
 * (the whole name or its last component, then a prefix of the last component, then anywhere in the name), then
 * matches in the description. An empty term matches everything.
 */
export function searchRank(term: string, repository: { name: string; description: string }): number | undefined {
  const needle = term.toLowerCase();
  const name = repository.name.toLowerCase();
  const last = name.slice(name.lastIndexOf('/') + 1);
  if (needle === '' || name === needle || last === needle) return 0;
  if (last.startsWith(needle)) return 1;
  if (name.includes(needle)) return 2;
  if (repository.description.toLowerCase().includes(needle)) return 3;
  return undefined;
}

/** Searches every repository the caller may pull (`pullable` filters names), whichever protocol pushed it. */
export async function searchRepositories(
  meta: MetadataStore,
  request: { q: string; n: number; page: number; pullable: (names: string[]) => string[] },
): Promise<SearchPage> {
  const names = request.pullable(await meta.listRepositories());
  const ranked: { name: string; description: string; rank: number }[] = [];
  for (const name of names) {
    const description = (await meta.getRepository(name))?.description ?? '';
    const rank = searchRank(request.q, { name, description });
    if (rank !== undefined) ranked.push({ name, description, rank });
  }
  ranked.sort((a, b) => a.rank - b.rank || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const start = (request.page - 1) * request.n;
  return {
    query: request.q,
    num_results: ranked.length,
    num_pages: Math.max(1, Math.ceil(ranked.length / request.n)),
    page: request.page,
    page_size: request.n,
    results: ranked.slice(start, start + request.n).map(({ name, description }) => ({
      name,
      description,
      star_count: 0,
      is_official: false,
      is_automated: false,
    })),
  };
}
