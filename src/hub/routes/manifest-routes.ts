import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { parseManifestReference, validateRepositoryName } from '../../oci/reference.ts';
import type { ManifestView } from '../../web/api-types.ts';
import type { ManifestSummaries } from '../browse/manifest-summaries.ts';
import { buildManifestView } from '../browse/manifest-view.ts';
import type { HubDeps } from '../hub-deps.ts';
import { parseInput } from '../parse-input.ts';

// Beyond any name, tag or digest, so overlong ones reach the registry's validators and answer their codes.
const maxInput = 1024;

const viewQuery = z.strictObject({
  repository: z.string().max(maxInput),
  reference: z.string().max(maxInput),
});

/**
 * GET /api/v1/manifest?repository=&reference=: a manifest (by tag or digest) as its page shows it. `summaries` is
 * shared with the tags routes: a tag's row and its manifest's page summarize the same manifest.
 */
export function registerManifestRoutes(api: FastifyInstance, deps: Pick<HubDeps, 'auth' | 'registry'>, summaries: ManifestSummaries): void {
  api.get('/manifest', async (request): Promise<ManifestView> => {
    const caller = await deps.auth.caller(request);
    const query = parseInput(viewQuery, request.query, 'query');
    const repository = validateRepositoryName(query.repository);
    parseManifestReference(query.reference);
    deps.auth.require(caller, repository, 'pull');
    const record = await deps.registry.resolveManifest(repository, query.reference);
    return buildManifestView(deps.registry, record, deps.auth.actions(caller, repository), summaries);
  });
}
