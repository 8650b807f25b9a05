import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { maxNameLength, validateRepositoryName } from '../../oci/reference.ts';
import type { RepositoryList } from '../../web/api-types.ts';
import { pageSizeQuery } from '../browse/page-query.ts';
import { searchPullable } from '../browse/repository-search.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

const listQuery = z.strictObject({
  q: z.string().max(maxNameLength).default(''),
  last: z.string().max(maxNameLength).optional(),
  n: pageSizeQuery,
});

/** GET /api/v1/repositories?q=&last=&n=: the names holding `q` the caller may pull (docs/api.md). */
export function registerRepositoriesRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'registry'>): void {
  api.get('/repositories', async (request): Promise<RepositoryList> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(listQuery, request.query, 'query');
    if (query.last !== undefined) validateRepositoryName(query.last);
    return searchPullable(deps.registry.meta, (names) => deps.auth.pullable(caller, names), { query: query.q, last: query.last, n: query.n });
  });
}
