import type { MetadataStore } from '../../meta/metadata-store.ts';
import type { RepositoryList } from '../../web/api-types.ts';

export interface RepositorySearch {
  query: string;
  last?: string;
  n: number;
}

export interface SearchBounds {
  /** Names read from the store first; each further read takes twice as many, up to `maxPage`. */
  firstPage: number;
  maxPage: number;
  /** Names read for one answer before it returns what it has, with `next` to go on from. */
  maxScanned: number;
}

// A caller who may pull one name in a hundred gets 50 in 5,000 names read, in seven round trips, not fifty.
const defaultBounds: SearchBounds = { firstPage: 100, maxPage: 1000, maxScanned: 5000 };

/**
 * A page of the names holding `query` that the caller may pull. The ACL filters after the store pages, so a
 * caller who may pull few names makes the search read on, in growing pages, up to `maxScanned` names; then it
 * answers what it found with `next` set to the last name read (as the v2 catalog's Link may name a repository its
 * caller cannot pull), and the client continues from there.
 */
export async function searchPullable(
  meta: Pick<MetadataStore, 'searchRepositories'>,
  pullable: (names: string[]) => string[],
  search: RepositorySearch,
  bounds: SearchBounds = defaultBounds,
): Promise<RepositoryList> {
  const found: string[] = [];
  let last = search.last;
  for (let scanned = 0, size = bounds.firstPage; scanned < bounds.maxScanned; scanned += size, size = Math.min(bounds.maxPage, size * 2)) {
    const names = await meta.searchRepositories(search.query, { last, n: size });
    const visible = pullable(names);
    const room = search.n - found.length;
    found.push(...visible.slice(0, room));
    const exhausted = names.length < size;
    if (visible.length > room || (visible.length === room && !exhausted)) return listOf(found, found.at(-1));
    if (exhausted) return listOf(found, null);
    last = names.at(-1);
  }
  return listOf(found, last ?? null);
}

function listOf(names: string[], next: string | null | undefined): RepositoryList {
  return { repositories: names.map((name) => ({ name })), next: next ?? null };
}
