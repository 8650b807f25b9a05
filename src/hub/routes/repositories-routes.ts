import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { MetaStores } from '../../meta/meta-stores.ts';
import { maxNameLength } from '../../oci/reference.ts';
import type { RepositoryList } from '../../web/api-types.ts';
import { cursorSecret, maxCursorLength, PageCursors } from '../browse/page-cursors.ts';
import { pageSizeQuery } from '../browse/page-query.ts';
import { searchPullable } from '../browse/repository-search.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

const listQuery = z.strictObject({
  q: z.string().max(maxNameLength).default(''),
  last: z.string().max(maxCursorLength).optional(),
  n: pageSizeQuery,
});

/**
 * GET /api/v1/repositories?q=&last=&n=: the names holding `q` the caller may pull (docs/api.md). `next` is sealed
 * (PageCursors): a page the scan bound stops early ends on a name the caller may not pull.
 */
export function registerRepositoriesRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'registry'> & { stores: Pick<MetaStores, 'secrets'> }): void {
  const cursors = new PageCursors(() => deps.stores.secrets.secret(cursorSecret));
  api.get('/repositories', async (request): Promise<RepositoryList> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(listQuery, request.query, 'query');
    const last = query.last === undefined ? undefined : await cursors.open(query.last);
    const list = await searchPullable(deps.registry.meta, (names) => deps.auth.pullable(caller, names), { query: query.q, last, n: query.n });
    return { ...list, next: list.next === null ? null : await cursors.seal(list.next) };
  });
}
