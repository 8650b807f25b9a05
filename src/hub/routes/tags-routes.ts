import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { Fault } from '../../base/fault.ts';
import type { MetaStores } from '../../meta/meta-stores.ts';
import { validateRepositoryName, validateTag } from '../../oci/reference.ts';
import { silentRegistryEvents } from '../../registry/notifications/request-events.ts';
import type { TagList } from '../../web/api-types.ts';
import { pageSizeQuery } from '../browse/page-query.ts';
import type { ManifestSummaries } from '../browse/manifest-summaries.ts';
import { tagRows } from '../browse/tag-rows.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

// Beyond any name or tag, so overlong ones reach the registry's validators and answer their codes.
const maxInput = 1024;

const listQuery = z.strictObject({
  repository: z.string().max(maxInput),
  last: z.string().max(maxInput).optional(),
  n: pageSizeQuery,
});

const deleteQuery = z.strictObject({
  repository: z.string().max(maxInput),
  tag: z.string().max(maxInput),
});

/**
 * GET /api/v1/tags?repository=&last=&n= (a page of tags with digest, size, created, platforms) and
 * DELETE /api/v1/tags?repository=&tag= (the registry's tag delete: immutable tags refuse, an event is reported).
 * `summaries` is shared with the manifest route.
 */
export function registerTagsRoutes(
  api: FastifyInstance,
  deps: Pick<HubDeps, 'auth' | 'registry' | 'registryEvents'> & { stores: Pick<MetaStores, 'builds'> },
  summaries: ManifestSummaries,
): void {
  api.get('/tags', async (request): Promise<TagList> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(listQuery, request.query, 'query');
    const repository = validateRepositoryName(query.repository);
    if (query.last !== undefined) validateTag(query.last);
    deps.auth.require(caller, repository, 'pull');
    const tags = await listTags(deps, repository, query);
    return {
      repository,
      actions: deps.auth.actions(caller, repository),
      tags: await tagRows(deps.registry, repository, tags, summaries),
      next: tags.length === query.n ? (tags.at(-1) ?? null) : null,
    };
  });

  api.delete('/tags', async (request, reply) => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(deleteQuery, request.query, 'query');
    const repository = validateRepositoryName(query.repository);
    const tag = validateTag(query.tag);
    deps.auth.require(caller, repository, 'delete');
    await deps.registry.deleteManifest(repository, tag);
    await (deps.registryEvents ?? silentRegistryEvents).forRequest(request, caller.identity.account).deleted(repository, tag);
    return reply.code(204).send();
  });
}

/** The registry's page of tags; none (not NAME_UNKNOWN) for a name that has an automated build but no push yet. */
async function listTags(
  deps: Pick<HubDeps, 'registry'> & { stores: Pick<MetaStores, 'builds'> },
  repository: string,
  page: { last?: string; n: number },
): Promise<string[]> {
  try {
    return await deps.registry.listTags(repository, page);
  } catch (error) {
    if (error instanceof Fault && error.code === 'NAME_UNKNOWN' && (await deps.stores.builds.listAutobuilds(repository)).length > 0) return [];
    throw error;
  }
}
